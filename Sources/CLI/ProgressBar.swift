import Foundation

/// A progress line on stderr for long loops: `[#####-----] 12/100 frames  8.3 frames/s  ETA 0:11`,
/// redrawn in place at most ten times a second when stderr is a terminal; otherwise silent until
/// `finish()`, which prints one final line (logs stay readable).
struct ProgressBar {
    let unit: String
    let total: Int?
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private(set) var done = 0

    init(unit: String, total: Int?) {
        self.unit = unit
        self.total = total
    }

    /// Seconds since the bar was created.
    var elapsed: Double { Date().timeIntervalSince(start) }
    /// Items per second so far.
    var rate: Double { elapsed > 0 ? Double(done) / elapsed : 0 }

    /// Records one more finished item and redraws when due.
    mutating func advance() {
        done += 1
        guard isTerminal, Date().timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
        lastDraw = Date()
        printError("\r" + line(), terminator: "")
    }

    /// Clears the bar's line so a result line can be printed; the next `advance()` redraws it.
    mutating func clearLine() {
        guard isTerminal else { return }
        printError("\r\u{1B}[K", terminator: "")
        lastDraw = .distantPast
    }

    /// Ends the line (terminal) or prints the single summary line (not a terminal).
    func finish() {
        if isTerminal { printError("\r" + line()) } else { printError(line()) }
    }

    private func line() -> String {
        // Slow items (diffusion steps) read better as seconds per item.
        let speed = rate > 0 && rate < 1 ? String(format: "%.2f s/%@", 1 / rate, String(unit.dropLast(unit.hasSuffix("s") ? 1 : 0)))
            : String(format: "%.1f %@/s", rate, unit)
        guard let total, total > 0 else { return "\(done) \(unit)  \(speed)" }
        let width = 24, filled = min(width, done * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        var text = "[\(bar)] \(done)/\(total) \(unit)  \(speed)"
        if rate > 0, done < total {
            let eta = Int((Double(total - done) / rate).rounded())
            text += String(format: "  ETA %d:%02d", eta / 60, eta % 60)
        }
        return text
    }
}
