import Foundation
import Testing
@testable import SparrowVision

/// Where the vision test fixtures live (committed goldens, see Fixtures/README.md).
enum VisionFixtures {
    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }()
}

@Test func visionModuleLinksAgainstRuntime() {
    #expect(!SparrowVision.runtimeVersion.isEmpty)
}
