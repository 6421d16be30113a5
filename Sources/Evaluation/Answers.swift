import Foundation

/// How generated text is graded, per task. Pure functions, unit-tested.
public enum Answers {
    /// GSM8K: the number after "####", else the last number in the text; commas and a
    /// trailing ".0"/"." removed so "1,000.00" and "1000" compare equal.
    public static func gsm8kNumber(_ text: String) -> String? {
        let source: Substring
        if let marker = text.range(of: "####") { source = text[marker.upperBound...] } else { source = Substring(text) }
        let numbers = numbersIn(source)
        let picked = text.contains("####") ? numbers.first : numbers.last
        return picked.map(normalize)
    }

    static func numbersIn(_ text: Substring) -> [String] {
        var out: [String] = [], current = ""
        func close() {
            let trimmed = current.trimmingCharacters(in: CharacterSet(charactersIn: ".,"))
            if trimmed.contains(where: \.isNumber) { out.append(trimmed) }
            current = ""
        }
        for c in text {
            if c.isASCII && (c.isNumber || ((c == "." || c == ",") && !current.isEmpty) || (c == "-" && current.isEmpty)) {
                current.append(c)
            } else {
                close()
            }
        }
        close()
        return out
    }

    static func normalize(_ number: String) -> String {
        var s = number.replacingOccurrences(of: ",", with: "")
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        if s == "-0" { s = "0" }
        return s
    }

    /// PubMedQA: the decision after "Final answer:", else the first yes/no/maybe word.
    public static func pubmedqaDecision(_ text: String) -> String? {
        let lower = text.lowercased()
        let tail = lower.range(of: "final answer:").map { String(lower[$0.upperBound...]) } ?? lower
        let words = tail.split { !$0.isLetter }
        return words.first { ["yes", "no", "maybe"].contains($0) }.map(String.init)
    }

    /// HumanEval: the completion up to the first line that starts a new top-level block.
    public static func humanEvalCompletion(_ text: String) -> String {
        var end = text.endIndex
        for stop in ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert "] {
            if let r = text.range(of: stop), r.lowerBound < end { end = r.lowerBound }
        }
        return String(text[..<end])
    }

    /// The unbiased pass@k estimator of Chen et al. (2021): 1 - C(n-c, k) / C(n, k).
    public static func passAtK(samples n: Int, correct c: Int, k: Int) -> Double {
        guard c > 0 else { return 0 }
        guard n - c >= k else { return 1 }
        var product = 1.0
        for i in (n - c + 1)...n { product *= 1 - Double(k) / Double(i) }
        return 1 - product
    }
}
