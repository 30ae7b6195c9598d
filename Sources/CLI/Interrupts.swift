import Foundation

/// Ctrl-C handling for interactive commands: while a reply streams, Ctrl-C only stops the reply;
/// otherwise (at the prompt, or a second Ctrl-C) it exits.
enum Interrupts {
    nonisolated(unsafe) static var generating: Int32 = 0
    nonisolated(unsafe) static var stopRequested: Int32 = 0

    static func install() {
        signal(SIGINT) { _ in
            if Interrupts.generating != 0 && Interrupts.stopRequested == 0 {
                Interrupts.stopRequested = 1
            } else {
                let newline: [UInt8] = [10]
                _ = write(2, newline, 1)
                _exit(130)
            }
        }
    }

    /// Runs `body` as a cancellable generation; `isCancelled` turns true after Ctrl-C.
    static func generation<T>(_ body: (_ isCancelled: @escaping () -> Bool) throws -> T) rethrows -> T {
        stopRequested = 0
        generating = 1
        defer { generating = 0; stopRequested = 0 }
        return try body { Interrupts.stopRequested != 0 }
    }
}
