/// Python `str` methods that chat templates call, on Unicode code points (Python's unit of `len`
/// and indexing): strip, split, replace, find, count, title, capitalize.
enum PythonString {
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }

    /// `text.strip(chars)` / `lstrip` / `rstrip`; `chars == nil` strips whitespace.
    static func strip(_ text: String, _ chars: String?, leading: Bool = true, trailing: Bool = true) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let shouldStrip: (Unicode.Scalar) -> Bool = { set?.contains($0) ?? isWhitespace($0) }
        let scalars = Array(text.unicodeScalars)
        var start = 0, end = scalars.count
        if leading { while start < end, shouldStrip(scalars[start]) { start += 1 } }
        if trailing { while end > start, shouldStrip(scalars[end - 1]) { end -= 1 } }
        return string(scalars[start..<end])
    }

    static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Index of the first occurrence of `needle` in `haystack` at or after `from`, or nil.
    static func find(_ needle: [Unicode.Scalar], in haystack: [Unicode.Scalar], from: Int = 0) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        if needle.isEmpty { return from <= haystack.count ? from : nil }
        var index = from
        while index + needle.count <= haystack.count {
            if haystack[index] == needle[0], haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    /// `text.split(separator, maxsplit)`; a nil separator splits on runs of whitespace and drops empty parts.
    /// Returns nil for an empty separator (Python raises ValueError).
    static func split(_ text: String, separator: String?, maxSplit: Int = -1) -> [String]? {
        let scalars = Array(text.unicodeScalars)
        var parts: [String] = []
        guard let separator else {
            var index = 0
            while true {
                while index < scalars.count, isWhitespace(scalars[index]) { index += 1 }
                if index == scalars.count { break }
                if maxSplit >= 0, parts.count == maxSplit {
                    parts.append(string(scalars[index...]))
                    break
                }
                let start = index
                while index < scalars.count, !isWhitespace(scalars[index]) { index += 1 }
                parts.append(string(scalars[start..<index]))
            }
            return parts
        }
        let needle = Array(separator.unicodeScalars)
        guard !needle.isEmpty else { return nil }
        var start = 0
        while maxSplit < 0 || parts.count < maxSplit, let found = find(needle, in: scalars, from: start) {
            parts.append(string(scalars[start..<found]))
            start = found + needle.count
        }
        parts.append(string(scalars[start...]))
        return parts
    }

    /// `text.replace(old, new, count)`; an empty `old` inserts `new` around every code point, as Python does.
    static func replace(_ text: String, _ old: String, _ new: String, count: Int = -1) -> String {
        let scalars = Array(text.unicodeScalars)
        let needle = Array(old.unicodeScalars)
        var result = String.UnicodeScalarView()
        var replaced = 0
        if needle.isEmpty {
            for scalar in scalars {
                if count < 0 || replaced < count {
                    result.append(contentsOf: new.unicodeScalars)
                    replaced += 1
                }
                result.append(scalar)
            }
            if count < 0 || replaced < count { result.append(contentsOf: new.unicodeScalars) }
            return String(result)
        }
        var start = 0
        while count < 0 || replaced < count, let found = find(needle, in: scalars, from: start) {
            result.append(contentsOf: scalars[start..<found])
            result.append(contentsOf: new.unicodeScalars)
            start = found + needle.count
            replaced += 1
        }
        result.append(contentsOf: scalars[start...])
        return String(result)
    }

    /// Non-overlapping occurrences of `needle` (Python `str.count`).
    static func count(_ text: String, _ needle: String) -> Int {
        let scalars = Array(text.unicodeScalars), pattern = Array(needle.unicodeScalars)
        if pattern.isEmpty { return scalars.count + 1 }
        var total = 0, start = 0
        while let found = find(pattern, in: scalars, from: start) {
            total += 1
            start = found + pattern.count
        }
        return total
    }

    /// Python `str.capitalize()`: first character upper case, the rest lower case.
    static func capitalize(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.uppercased() + text.dropFirst().lowercased()
    }

    /// Python `str.title()`: a letter after a non-letter is upper case, every other letter lower case.
    static func title(_ text: String) -> String {
        var result = ""
        var previousIsLetter = false
        for character in text {
            let isLetter = character.isLetter
            result += isLetter ? (previousIsLetter ? character.lowercased() : character.uppercased()) : String(character)
            previousIsLetter = isLetter
        }
        return result
    }

    /// jinja2's `title` filter: words start after whitespace, `-`, or an opening bracket.
    static func titleFilter(_ text: String) -> String {
        var result = ""
        var atWordStart = true
        for character in text {
            let isBoundary = character.isWhitespace || "-([{<".contains(character)
            if isBoundary {
                result.append(character)
            } else {
                result += atWordStart ? character.uppercased() : character.lowercased()
            }
            atWordStart = isBoundary
        }
        return result
    }

    /// jinja2's `indent` filter: indents every line after the first (and the first too when `first`);
    /// blank lines stay empty unless `blank`.
    static func indent(_ text: String, by indentation: String, first: Bool, blank: Bool) -> String {
        var lines = (text + "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()
        let result: String
        if blank {
            result = lines.joined(separator: "\n" + indentation)
        } else {
            result = lines[0] + lines.dropFirst().map { "\n" + ($0.isEmpty ? "" : indentation + $0) }.joined()
        }
        return first ? indentation + result : result
    }
}
