import ArgumentParser
import SparrowRuntime

/// The `sparrow` command: one subcommand per file in this folder.
@main
struct SparrowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sparrow",
        abstract: "On-device generative AI.",
        version: Sparrow.version,
        subcommands: [
            ChatCommand.self,
            GenerateCommand.self,
            PerplexityCommand.self,
            BenchCommand.self,
            ModelsCommand.self,
            InspectCommand.self,
            QuantizeCommand.self,
            SegmentCommand.self,
            ClassifyClipsCommand.self,
            ImagineCommand.self,
        ]
    )
}
