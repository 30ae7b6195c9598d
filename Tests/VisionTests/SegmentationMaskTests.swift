import Foundation
import SparrowRuntime
import Testing
@testable import SparrowVision

/// Bilinear weights are products of small fractions: exact up to float32 rounding.
private let bilinearTolerance: Float = 1e-6
@Suite struct SegmentationMaskTests {
    @Test func intersectionOverUnionOfKnownMasks() {
        let a = SegmentationMask(width: 4, height: 1, values: [1, 1, 0, 0])
        let b = SegmentationMask(width: 4, height: 1, values: [0, 0.9, 0.6, 0.2])
        let empty = SegmentationMask(width: 4, height: 1, constant: 0)
        #expect(SegmentationMask.intersectionOverUnion(a, b) == Float(1) / 3)
        #expect(SegmentationMask.intersectionOverUnion(a, a) == 1)
        #expect(SegmentationMask.intersectionOverUnion(a, SegmentationMask(width: 4, height: 1, values: [0, 0, 1, 1])) == 0)
        #expect(SegmentationMask.intersectionOverUnion(empty, empty) == 1)
        // A higher threshold drops b's 0.6: intersection 1, union 2.
        #expect(SegmentationMask.intersectionOverUnion(a, b, threshold: 0.7) == 0.5)
    }

    @Test func resizeOfConstantMaskIsConstant() {
        let mask = SegmentationMask(width: 3, height: 2, constant: 0.37)
        for (w, h) in [(17, 11), (1, 1), (3, 2), (256, 2)] {
            let resized = mask.resized(width: w, height: h)
            #expect(resized.width == w && resized.height == h)
            #expect(resized.values.allSatisfy { abs($0 - 0.37) <= bilinearTolerance })
        }
    }

    @Test func resizeUsesHalfPixelCenters() {
        // 2 → 4: source x = (d + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25, clamped to 0…1.
        let row = SegmentationMask(width: 2, height: 1, values: [0, 1]).resized(width: 4, height: 1)
        #expect(zip(row.values, [0, 0.25, 0.75, 1] as [Float]).allSatisfy { abs($0 - $1) <= bilinearTolerance })
        // 4 → 2 (downscale): source x = 0.5, 2.5 → means of pairs.
        let down = SegmentationMask(width: 4, height: 1, values: [0, 1, 0.5, 0.25]).resized(width: 2, height: 1)
        #expect(zip(down.values, [0.5, 0.375] as [Float]).allSatisfy { abs($0 - $1) <= bilinearTolerance })
        // Columns: the same rule on the other axis.
        let column = SegmentationMask(width: 1, height: 2, values: [0, 1]).resized(width: 1, height: 4)
        #expect(zip(column.values, [0, 0.25, 0.75, 1] as [Float]).allSatisfy { abs($0 - $1) <= bilinearTolerance })
    }

    @Test func thresholdAndCoverageCountForegroundPixels() {
        let mask = SegmentationMask(width: 5, height: 1, values: [0, 0.49, 0.5, 0.8, 1])
        #expect(mask.thresholded().values == [0, 0, 1, 1, 1])
        #expect(mask.coverage() == 0.6)
        #expect(mask.coverage(threshold: 0.9) == 0.2)
    }
}
