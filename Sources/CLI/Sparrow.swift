import ArgumentParser
import SparrowRuntime

@main
struct SparrowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sparrow", abstract: "On-device generative AI.")
}
