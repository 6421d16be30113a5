import Foundation
import RunFiles

/// The arms side by side, as report.md and report.html show them: loss mask, steps, tokens
/// that carried a loss, final loss and the evaluation metric.
public struct ComparisonTable {
    public let comparison: ArmComparison

    public init(_ comparison: ArmComparison) { self.comparison = comparison }

    static let headers = ["arm", "loss mask", "steps", "tokens with a loss", "final loss"]

    /// Each row's cells as text.
    var cells: [[String]] {
        comparison.rows.map { r in
            [r.arm, r.mask, String(r.steps), String(r.tokens), r.finalLoss.map { String(format: "%.4f", $0) } ?? "-",
             r.metric.map { String(format: "%.4f", $0) } ?? "-"]
        }
    }

    /// A Markdown table (empty without rows).
    public var markdown: String {
        guard !comparison.rows.isEmpty else { return "" }
        var text = "| " + (Self.headers + [comparison.metricName ?? "eval"]).joined(separator: " | ") + " |\n"
        text += "| --- | --- | ---: | ---: | ---: | ---: |\n"
        for row in cells { text += "| " + row.joined(separator: " | ") + " |\n" }
        return text
    }

    /// An HTML table; text cells escaped, numbers right-aligned.
    public var html: String {
        let metric = comparison.metricName ?? "evaluation"
        var h = "<table id=\"comparison\"><tr>" + (Self.headers + [metric]).map { "<th>\(SVG.escape($0))</th>" }.joined() + "</tr>\n"
        for row in cells {
            h += "<tr>" + row.enumerated().map { i, cell in i < 2 ? "<td>\(SVG.escape(cell))</td>" : "<td class=\"n\">\(cell)</td>" }.joined()
            h += "</tr>\n"
        }
        return h + "</table>\n"
    }
}
