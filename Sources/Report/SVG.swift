import Foundation

/// The report's charts as standalone SVG documents: the HTML page inlines them, and
/// `xtf report --figures DIR` writes them as files for docs to embed. Plain SVG 1.1, no
/// scripts, fonts from the reader's sans-serif.
public enum SVG {
    /// A series of a line chart.
    public struct Series: Sendable {
        public let name: String
        public let points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) { self.name = name; self.points = points }
    }

    /// A vertical line drawn over a chart at `x` (a threshold).
    public struct Marker: Sendable {
        public let x: Double
        public let label: String
        public init(x: Double, label: String) { self.x = x; self.label = label }
    }

    static let palette = ["#4a7ab5", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666", "#e6ab02"]

    static let width = 640.0, height = 300.0
    static let left = 64.0, right = 16.0, top = 34.0, bottom = 46.0

    public static func escape(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters are not allowed in XML 1.0.
                if c.value < 0x20 && c != "\n" && c != "\t" { out += "\\u{\(String(c.value, radix: 16))}" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    static func number(_ v: Double) -> String { String(format: "%.1f", v) }

    /// A short axis label: 3 significant digits, no trailing noise.
    public static func tick(_ v: Double) -> String {
        if v == 0 { return "0" }
        let magnitude = abs(v)
        if magnitude >= 10_000 || magnitude < 0.001 { return String(format: "%.2g", v) }
        if magnitude >= 100 { return String(format: "%.0f", v) }
        if magnitude >= 1 { return String(format: "%.3g", v) }
        return String(format: "%.3g", v)
    }

    /// Round tick values covering [lower, upper].
    static func ticks(_ lower: Double, _ upper: Double, count: Int = 5) -> [Double] {
        guard upper > lower, lower.isFinite, upper.isFinite else { return [lower] }
        let raw = (upper - lower) / Double(count)
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= raw } ?? raw
        var values: [Double] = []
        var v = (lower / step).rounded(.up) * step
        while v <= upper + step * 1e-9 { values.append(v); v += step }
        return values
    }

    /// The frame shared by every chart: title, axes with ticks, axis labels.
    struct Frame {
        let title: String
        let xRange: ClosedRange<Double>
        let yRange: ClosedRange<Double>
        let xLabel: String
        let yLabel: String
        var yTickLabel: (Double) -> String = SVG.tick
        /// Where the y ticks go (default: round values over the range).
        var yTicks: [Double]? = nil

        func x(_ v: Double) -> Double {
            SVG.left + (v - xRange.lowerBound) / max(1e-300, xRange.upperBound - xRange.lowerBound) * (SVG.width - SVG.left - SVG.right)
        }
        func y(_ v: Double) -> Double {
            SVG.height - SVG.bottom - (v - yRange.lowerBound) / max(1e-300, yRange.upperBound - yRange.lowerBound) * (SVG.height - SVG.top - SVG.bottom)
        }

        func open(id: String?) -> String {
            var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(SVG.width)) \(Int(SVG.height))\" width=\"\(Int(SVG.width))\" height=\"\(Int(SVG.height))\""
            if let id { s += " id=\"\(SVG.escape(id))\"" }
            s += " font-family=\"sans-serif\" font-size=\"11\" role=\"img\" aria-label=\"\(SVG.escape(title))\">\n"
            s += "<title>\(SVG.escape(title))</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
            s += "<text x=\"\(SVG.number(SVG.width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">\(SVG.escape(title))</text>\n"
            let x0 = SVG.left, x1 = SVG.width - SVG.right, y0 = SVG.height - SVG.bottom, y1 = SVG.top
            for v in yTicks ?? SVG.ticks(yRange.lowerBound, yRange.upperBound) {
                let py = y(v)
                s += "<line x1=\"\(SVG.number(x0))\" y1=\"\(SVG.number(py))\" x2=\"\(SVG.number(x1))\" y2=\"\(SVG.number(py))\" stroke=\"#e4e4e4\"/>"
                s += "<text x=\"\(SVG.number(x0 - 5))\" y=\"\(SVG.number(py + 4))\" text-anchor=\"end\">\(SVG.escape(yTickLabel(v)))</text>\n"
            }
            for v in SVG.ticks(xRange.lowerBound, xRange.upperBound, count: 6) {
                let px = x(v)
                s += "<line x1=\"\(SVG.number(px))\" y1=\"\(SVG.number(y0))\" x2=\"\(SVG.number(px))\" y2=\"\(SVG.number(y0 + 4))\" stroke=\"black\"/>"
                s += "<text x=\"\(SVG.number(px))\" y=\"\(SVG.number(y0 + 16))\" text-anchor=\"middle\">\(SVG.escape(SVG.tick(v)))</text>\n"
            }
            s += "<line x1=\"\(SVG.number(x0))\" y1=\"\(SVG.number(y0))\" x2=\"\(SVG.number(x1))\" y2=\"\(SVG.number(y0))\" stroke=\"black\"/>"
            s += "<line x1=\"\(SVG.number(x0))\" y1=\"\(SVG.number(y0))\" x2=\"\(SVG.number(x0))\" y2=\"\(SVG.number(y1))\" stroke=\"black\"/>\n"
            s += "<text x=\"\(SVG.number((x0 + x1) / 2))\" y=\"\(SVG.number(SVG.height - 8))\" text-anchor=\"middle\">\(SVG.escape(xLabel))</text>\n"
            let mid = (y0 + y1) / 2
            s += "<text x=\"14\" y=\"\(SVG.number(mid))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(SVG.number(mid)))\">\(SVG.escape(yLabel))</text>\n"
            return s
        }

        func markers(_ markers: [Marker]) -> String {
            var s = ""
            for (i, m) in markers.enumerated() where xRange.contains(m.x) {
                let px = x(m.x)
                s += "<line x1=\"\(SVG.number(px))\" y1=\"\(SVG.number(SVG.top))\" x2=\"\(SVG.number(px))\" y2=\"\(SVG.number(SVG.height - SVG.bottom))\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/>"
                // Labels at the foot of the line (the legend is at the top); near the right
                // edge they go to the left of it.
                let onLeft = px > SVG.width - SVG.right - 150
                s += "<text x=\"\(SVG.number(onLeft ? px - 3 : px + 3))\" y=\"\(SVG.number(SVG.height - SVG.bottom - 6 - Double(i % 3) * 12))\" fill=\"#c0392b\""
                s += onLeft ? " text-anchor=\"end\">" : ">"
                s += "\(SVG.escape(m.label))</text>\n"
            }
            return s
        }
    }

    /// Line chart of several series with a legend.
    public static func lines(title: String, series: [Series], xLabel: String, yLabel: String, id: String? = nil,
                             markers: [Marker] = [], yRange fixedY: ClosedRange<Double>? = nil) -> String {
        let xs = series.flatMap { $0.points.map(\.x) }.filter(\.isFinite)
        let ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        let xRange = (xs.min() ?? 0)...max((xs.max() ?? 1), (xs.min() ?? 0) + 1e-9)
        let yLow = min(0, ys.min() ?? 0), yHigh = max(ys.max() ?? 1, yLow + 1e-9)
        let frame = Frame(title: title, xRange: xRange, yRange: fixedY ?? yLow...(yHigh * 1.05), xLabel: xLabel, yLabel: yLabel)
        var s = frame.open(id: id)
        for (i, one) in series.enumerated() {
            let colour = palette[i % palette.count]
            let path = one.points.filter { $0.x.isFinite && $0.y.isFinite }.map { "\(number(frame.x($0.x))),\(number(frame.y($0.y)))" }
            if path.count == 1 {
                let p = one.points[0]
                s += "<circle cx=\"\(number(frame.x(p.x)))\" cy=\"\(number(frame.y(p.y)))\" r=\"3\" fill=\"\(colour)\"/>\n"
            } else if !path.isEmpty {
                s += "<polyline class=\"series\" data-name=\"\(escape(one.name))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(path.joined(separator: " "))\"/>\n"
            }
            let ly = top + 6 + Double(i) * 14
            s += "<rect x=\"\(number(width - right - 130))\" y=\"\(number(ly - 8))\" width=\"10\" height=\"10\" fill=\"\(colour)\"/>"
            s += "<text x=\"\(number(width - right - 116))\" y=\"\(number(ly + 1))\">\(escape(one.name))</text>\n"
        }
        s += frame.markers(markers)
        return s + "</svg>\n"
    }

    /// A histogram: `counts[i]` tokens in [edges[i], edges[i+1]); y on a log scale (tails matter).
    public static func histogram(title: String, edges: [Double], counts: [Int64], xLabel: String, id: String? = nil,
                                 markers: [Marker] = []) -> String {
        precondition(edges.count == counts.count + 1, "a histogram needs one more edge than counts")
        let peak = Double(counts.max() ?? 1)
        let yMax = log10(max(10, peak) + 1)
        var frame = Frame(title: title, xRange: (edges.first ?? 0)...max(edges.last ?? 1, (edges.first ?? 0) + 1e-9),
                          yRange: 0...yMax, xLabel: xLabel, yLabel: "tokens (log scale)")
        // Ticks at powers of ten (the bars are log10(count + 1) high).
        frame.yTicks = (0...Int(yMax.rounded(.down))).map(Double.init)
        frame.yTickLabel = { v in v == 0 ? "0" : v < 3 ? String(Int(pow(10, v))) : "1e\(Int(v))" }
        var s = frame.open(id: id)
        for (i, c) in counts.enumerated() where c > 0 {
            let x0 = frame.x(edges[i]), x1 = frame.x(edges[i + 1]), y = frame.y(log10(Double(c) + 1))
            s += "<rect class=\"bin\" x=\"\(number(x0))\" y=\"\(number(y))\" width=\"\(number(max(0.5, x1 - x0 - 0.5)))\" height=\"\(number(height - bottom - y))\" fill=\"#4a7ab5\"><title>[\(tick(edges[i])), \(tick(edges[i + 1]))): \(c)</title></rect>\n"
        }
        s += frame.markers(markers)
        return s + "</svg>\n"
    }

    /// Horizontal bars, one per label (overlap regions, ranks).
    public static func bars(title: String, labels: [String], values: [Double], valueLabel: String, id: String? = nil,
                            format: (Double) -> String = { tick($0) }) -> String {
        let rowHeight = 20.0
        let chartHeight = top + 20 + rowHeight * Double(max(1, labels.count)) + 10
        let labelWidth = 150.0, barSpace = width - labelWidth - 90
        let peak = max(values.max() ?? 1, 1e-300)
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(chartHeight))\" width=\"\(Int(width))\" height=\"\(Int(chartHeight))\""
        if let id { s += " id=\"\(escape(id))\"" }
        s += " font-family=\"sans-serif\" font-size=\"11\" role=\"img\" aria-label=\"\(escape(title))\">\n"
        s += "<title>\(escape(title))</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(number(width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">\(escape(title))</text>\n"
        s += "<text x=\"\(number(labelWidth + barSpace / 2))\" y=\"\(number(top + 4))\" text-anchor=\"middle\" fill=\"#555\">\(escape(valueLabel))</text>\n"
        for (i, (label, value)) in zip(labels, values).enumerated() {
            let y = top + 14 + Double(i) * rowHeight
            let w = value.isFinite ? value / peak * barSpace : 0
            s += "<text x=\"\(number(labelWidth - 6))\" y=\"\(number(y + 12))\" text-anchor=\"end\">\(escape(label))</text>"
            s += "<rect x=\"\(number(labelWidth))\" y=\"\(number(y + 2))\" width=\"\(number(max(0, w)))\" height=\"\(number(rowHeight - 6))\" fill=\"\(palette[0])\"/>"
            s += "<text x=\"\(number(labelWidth + max(0, w) + 4))\" y=\"\(number(y + 12))\">\(escape(format(value)))</text>\n"
        }
        return s + "</svg>\n"
    }
}
