import ArgumentParser
import Foundation
import SparrowLLM
import SparrowRuntime

/// `sparrow chat`: interactive multi-turn chat with streaming replies.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a language model (interactive; --prompt answers once and exits).",
        discussion: """
            Commands: /reset forgets the conversation, /exit (or Ctrl-D) quits, /help lists them.
            Ctrl-C stops the reply being written; a second Ctrl-C exits.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: .long, help: "System prompt (default: the template's own, if it has one).")
    var system: String?

    @Option(name: .long, help: "Answer this one message and exit (non-interactive).")
    var prompt: String?

    @Flag(name: .long, help: "Raw completion: continue each line as plain text, without chat turns (the mode base models without a chat template get).")
    var raw = false

    func run() throws {
        let loaded = try modelOptions.load()
        // A base model has no chat template: chat turns would be made-up markup it never saw, so
        // each message is continued as plain text instead (what `sparrow generate` does).
        let rawCompletion = raw || loaded.chatTemplate == nil
        if loaded.chatTemplate == nil {
            printError("""
                \(loaded.name) has no chat template: it is a base (pretrained) model, not a chat model.
                Raw completion instead: each message is continued as plain text, with no memory of earlier ones
                (one-off: sparrow generate --model \(modelOptions.model) --prompt "…").
                """)
        }
        let session = rawCompletion ? nil : try ChatSession(loaded: loaded, systemPrompt: system)
        let params = sampling.parameters()
        var sampler = Sampler(parameters: params)
        Interrupts.install()
        func respond(_ text: String) throws {
            if let session {
                try reply(to: text, session: session, sampler: &sampler)
            } else {
                try complete(text, loaded: loaded, sampler: &sampler)
            }
        }

        if let prompt {
            guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw CLIError("the prompt is empty")
            }
            try respond(prompt)
            return
        }

        let interactive = isatty(0) != 0
        if interactive {
            printError("""
                \(loaded.name) · \(loaded.model.context.threadCount) threads · context \(loaded.model.contextLength) · loaded in \(Int(loaded.loadMilliseconds)) ms\(sampling.seed == nil ? " · seed \(params.seed!)" : "")
                Type a \(rawCompletion ? "text to continue" : "message"). /help for commands, Ctrl-C stops a reply, Ctrl-D exits.
                """)
        }
        while true {
            if interactive { printError("> ", terminator: "") }
            guard let line = readLine(strippingNewline: true) else {
                if interactive { printError("") }
                return
            }
            let text = line.trimmingCharacters(in: .whitespaces)
            switch text {
            case "": continue
            case "/exit", "/quit": return
            case "/reset":
                session?.reset()
                printError("(conversation cleared)")
                continue
            case "/help":
                printError("/reset  forget the conversation\n/exit   quit (also Ctrl-D)\n/help   this list\nCtrl-C stops the reply being written; a second Ctrl-C exits.")
                continue
            default:
                if text.hasPrefix("/") {
                    printError("unknown command \(text); /help lists the commands")
                    continue
                }
            }
            do {
                try respond(line)
            } catch let error as ChatSession.Error {
                printError("error: \(error)")
            }
        }
    }

    /// Streams one reply to stdout and records it in the session.
    private func reply(to text: String, session: ChatSession, sampler: inout Sampler) throws {
        var (iterator, dropped) = try session.respond(to: text, sampler: sampler, maxTokens: sampling.maxTokens)
        if dropped > 0 {
            printError("(context full: dropped the \(dropped) oldest message\(dropped == 1 ? "" : "s"), kept the system prompt)")
        }
        let replyText = try stream(&iterator)
        sampler = iterator.sampler
        session.finish(iterator, replyText: replyText)
    }

    /// Raw completion: continues `text` from an empty cache and streams the continuation.
    private func complete(_ text: String, loaded: LoadedModel, sampler: inout Sampler) throws {
        loaded.model.truncate(to: 0)
        let ids = loaded.tokenizer.encode(text, addSpecial: true, parseSpecial: true)
        guard ids.count < loaded.model.contextLength else {
            printError("(the text has \(ids.count) tokens; the context holds \(loaded.model.contextLength): shorten it or raise --context)")
            return
        }
        var iterator = TokenIterator(
            model: loaded.model, tokenizer: loaded.tokenizer, prompt: ids, sampler: sampler,
            stop: StopConditions(maxTokens: sampling.maxTokens, stopTokens: loaded.endOfGenerationTokenIDs))
        _ = try stream(&iterator)
        sampler = iterator.sampler
    }

    /// Prints the iterator's tokens as they come (Ctrl-C stops), then why it stopped if not by itself.
    private func stream(_ iterator: inout TokenIterator) throws -> String {
        var text = ""
        Interrupts.generation { isCancelled in
            iterator.isCancelled = isCancelled
            while let token = iterator.next() {
                text += token.text
                printFlushed(token.text)
            }
        }
        printFlushed("\n")
        if let error = iterator.error { throw error }
        switch iterator.stopReason {
        case .cancelled?: printError("(stopped)")
        case .maxTokens?: printError("(reply cut at --max-tokens \(sampling.maxTokens))")
        case .contextFull?: printError("(context full: the reply was cut; /reset or raise --context)")
        default: break
        }
        return text
    }
}
