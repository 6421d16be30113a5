import Foundation
import RunFiles

/// The arms side by side, as report.md and report.html show them: loss mask, steps, tokens
/// that carried a loss, final loss and the evaluation metric.
public struct ComparisonTable {
    public let comparison: ArmComparison

    public init(_ comparison: ArmComparison) { self.comparison = comparison }

    static let headers = ["arm", "loss mask", "steps", "tokens with a loss", "final loss"]

    /// Whether any row carries a difference to the baseline (then a column shows it).
    var hasDifferences: Bool { comparison.rows.contains { $0.difference != nil } }

    var headers: [String] {
        Self.headers + [comparison.metricName ?? "eval"] + (hasDifferences ? ["vs normal [95% CI]"] : [])
    }

    /// Each row's cells as text.
    var cells: [[String]] {
        comparison.rows.map { r in
            var row = [r.arm, r.mask, String(r.steps), String(r.tokens), r.finalLoss.map { String(format: "%.4f", $0) } ?? "-",
                       r.metric.map { String(format: "%.4f", $0) } ?? "-"]
            if hasDifferences {
                row.append(r.difference.map { d in
                    String(format: "%+.3f", d) + (r.interval.map { String(format: " [%+.3f, %+.3f]", $0[0], $0[1]) } ?? "")
                } ?? "-")
            }
            return row
        }
    }

    /// A Markdown table (empty without rows).
    public var markdown: String {
        guard !comparison.rows.isEmpty else { return "" }
        var text = "| " + headers.joined(separator: " | ") + " |\n"
        text += "| --- | --- | ---: | ---: | ---: | ---: |" + (hasDifferences ? " ---: |" : "") + "\n"
        for row in cells { text += "| " + row.joined(separator: " | ") + " |\n" }
        return text
    }

    /// An HTML table; text cells escaped, numbers right-aligned.
    public var html: String {
        var h = "<table id=\"comparison\"><tr>" + headers.map { "<th>\(SVG.escape($0))</th>" }.joined() + "</tr>\n"
        for row in cells {
            h += "<tr>" + row.enumerated().map { i, cell in i < 2 ? "<td>\(SVG.escape(cell))</td>" : "<td class=\"n\">\(cell)</td>" }.joined()
            h += "</tr>\n"
        }
        return h + "</table>\n"
    }
}
