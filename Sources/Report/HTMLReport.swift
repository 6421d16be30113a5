import Foundation
import RunFiles
import Scoring

/// The self-contained HTML report of a run: inline CSS, SVG and one inline script (the
/// sample browser); nothing is fetched, so the file opens from disk without a server.
public struct HTMLReport {
    public let data: RunData
    public let version: String
    /// Every chart, by file name (`loss.svg`, ...), for `--figures`.
    public private(set) var figures: [(name: String, svg: String)] = []

    public init(data: RunData, version: String) {
        self.data = data
        self.version = version
        figures = makeFigures()
    }

    // MARK: figures

    func makeFigures() -> [(name: String, svg: String)] {
        var out: [(String, String)] = []
        if !data.arms.isEmpty {
            out.append(("loss.svg", SVG.lines(title: "Training loss (unmasked tokens)", series: data.arms.map { arm in
                SVG.Series(name: arm.name, points: arm.steps.map { (Double($0.step), $0.loss) })
            }, xLabel: "step", yLabel: "loss", id: "loss-chart")))
        }
        let report = data.stats.report
        let settings = report.settings
        for attribute in Attribute.allCases {
            let h = data.stats.histograms[attribute]
            let (edges, counts) = Self.rebin(h, bins: 80)
            var markers: [SVG.Marker] = []
            let (title, label): (String, String)
            switch attribute {
            case .kn:
                title = "KN: probability of the correct token (PCP)"; label = "PCP"
                markers = [SVG.Marker(x: settings.tauKN, label: "flag > \(SVG.tick(settings.tauKN))")]
            case .ri:
                title = "RI: attention received"; label = "RI"
                if let f = data.samples.medianRIFence {
                    markers = [SVG.Marker(x: max(f, edges.first ?? 0), label: "median per-sample fence \(SVG.tick(f))")]
                }
            case .tr:
                title = "TR: cosine to the domain vector"; label = "TR"
                for (i, t) in (report.trThresholds ?? []).enumerated() {
                    markers.append(SVG.Marker(x: t, label: "C\(i + 2)\(settings.flagClasses.contains(i + 1) ? " (flagged)" : "")"))
                }
            }
            out.append(("histogram-\(attribute.rawValue).svg",
                        SVG.histogram(title: title, edges: edges, counts: counts, xLabel: label, id: "histogram-\(attribute.rawValue)", markers: markers)))
        }
        for curve in report.sensitivity {
            let name = "sensitivity-\(curve.attribute.rawValue).svg"
            let title = "\(curve.attribute.rawValue.uppercased()): masked fraction as \(curve.parameter) moves"
            if curve.parameter == "flagClasses" {
                let labels = curve.points.map { p in (p.classes ?? []).map { "C\($0 + 1)" }.joined(separator: "+") }
                out.append((name, SVG.bars(title: title, labels: labels, values: curve.points.map(\.maskedFraction),
                                           valueLabel: "masked fraction of all response tokens", id: "sensitivity-tr",
                                           format: { String(format: "%.2f%%", 100 * $0) })))
            } else {
                let current = curve.parameter == "kIQR" ? settings.kIQR : settings.tauKN
                out.append((name, SVG.lines(title: title, series: [SVG.Series(name: "masked", points: curve.points.compactMap { p in
                    p.value.map { ($0, p.maskedFraction) }
                })], xLabel: curve.parameter, yLabel: "masked fraction", id: "sensitivity-\(curve.attribute.rawValue)",
                    markers: [SVG.Marker(x: current, label: "setting \(SVG.tick(current))")])))
            }
        }
        let regions = report.overlap.filter { $0.tokens > 0 }
        out.append(("overlap.svg", SVG.bars(title: "Tokens flagged by exactly these attributes", labels: regions.map(\.attributes),
                                            values: regions.map { Double($0.tokens) }, valueLabel: "tokens", id: "overlap-chart",
                                            format: { String(Int($0)) })))
        let ranks = rankRows()
        if !ranks.isEmpty, ranks.allSatisfy({ $0.seconds != nil }) {
            out.append(("ranks.svg", SVG.bars(title: "Scoring throughput per rank", labels: ranks.map { "rank \($0.rank)" },
                                              values: ranks.map { $0.tokensPerSecond ?? 0 }, valueLabel: "tokens/s", id: "ranks-chart",
                                              format: { String(format: "%.0f", $0) })))
        }
        return out
    }

    /// A 4096-bin histogram shown as at most `bins` bins over the range it occupies.
    static func rebin(_ h: Histogram, bins: Int) -> (edges: [Double], counts: [Int64]) {
        let counts = h.counts
        guard let first = counts.firstIndex(where: { $0 > 0 }), let last = counts.lastIndex(where: { $0 > 0 }) else {
            return ([h.layout.lower, h.layout.upper], [0])
        }
        let width = (h.layout.upper - h.layout.lower) / Double(h.layout.bins)
        let span = last - first + 1
        let group = max(1, (span + bins - 1) / bins)
        var edges: [Double] = [], out: [Int64] = []
        var i = first
        while i <= last {
            edges.append(h.layout.lower + Double(i) * width)
            out.append(counts[i..<min(last + 1, i + group)].reduce(0, +))
            i += group
        }
        edges.append(h.layout.lower + Double(min(last + 1, i)) * width)
        return (edges, out)
    }

    struct RankRow { let rank: Int; let chunks: Int; let tokens: Int; let seconds: Double?; let idle: Double?
        var tokensPerSecond: Double? { seconds.map { $0 > 0 ? Double(tokens) / $0 : 0 } }
    }

    /// Per rank while scoring: chunks, tokens, busy seconds and the rest of the scoring time.
    func rankRows() -> [RankRow] {
        let chunks = data.manifest.chunks
        let wall = chunks.compactMap(\.finishedAt).max()
        return Dictionary(grouping: chunks, by: \.rank).keys.sorted().map { rank in
            let mine = chunks.filter { $0.rank == rank }
            let timed = mine.allSatisfy { $0.seconds != nil }
            let busy = timed ? mine.reduce(0) { $0 + ($1.seconds ?? 0) } : nil
            return RankRow(rank: rank, chunks: mine.count, tokens: mine.reduce(0) { $0 + $1.tokens }, seconds: busy,
                           idle: busy.flatMap { b in wall.map { max(0, $0 - b) } })
        }
    }

    // MARK: page

    public func render() -> String {
        let report = data.stats.report
        let figure = Dictionary(figures.map { ($0.name, $0.svg) }, uniquingKeysWith: { a, _ in a })
        var h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        h += "<title>xtf report: \(esc(data.root))</title>\n<style>\(Self.css)</style></head>\n<body data-ready=\"no\">\n"
        h += "<header><h1>xtf report</h1><p class=\"muted\">\(esc(data.root)) · xtf \(esc(version))</p>\n"
        h += "<nav><a href=\"#summary\">Summary</a> <a href=\"#training\">Training</a> <a href=\"#attributes\">Attributes</a> "
        h += "<a href=\"#overlap\">Overlap</a> <a href=\"#samples\">Samples</a> <a href=\"#cluster\">Cluster</a> <a href=\"#manifest\">Manifest</a></nav></header>\n<main>\n"

        // Summary
        let t = data.manifest.totals
        h += "<section id=\"summary\"><h2>Summary</h2>\n<p>\(t.records) records: \(t.scored) scored, \(t.rejected) rejected"
        h += ", \(t.truncatedSamples) truncated. \(report.responseTokens) response tokens, \(report.maskedTokens) masked (\(pct(report.maskedFraction))).</p>\n"
        h += "<table><tr><th>attribute</th><th>in use</th><th>flagged by the rule</th><th>after the cap</th><th>fraction</th></tr>\n"
        for a in report.attributes {
            h += "<tr><td>\(a.attribute.rawValue)</td><td>\(a.active ? "yes" : "no")</td><td class=\"n\">\(a.flaggedByRule)</td><td class=\"n\">\(a.flagged)</td><td class=\"n\">\(pct(a.flaggedFraction))</td></tr>\n"
        }
        h += "</table>\n"
        if !data.manifest.rejected.isEmpty {
            h += "<details><summary>\(data.manifest.rejected.count) rejected records</summary><table><tr><th>record</th><th>reason</th></tr>\n"
            for r in data.manifest.rejected { h += "<tr><td>\(esc(r.id))</td><td>\(esc(r.reason))</td></tr>\n" }
            h += "</table></details>\n"
        }
        h += "</section>\n"

        // Training and evaluation
        h += "<section id=\"training\"><h2>Training and evaluation</h2>\n"
        if data.comparison.rows.isEmpty && data.arms.isEmpty {
            h += "<p class=\"muted\">This run trained no arm (scoring only).</p>\n"
        } else {
            if let chart = figure["loss.svg"] { h += "<figure>\(chart)</figure>\n" }
            h += ComparisonTable(data.comparison).html
        }
        if let d = data.detection {
            h += "<h3>Injected noise found by each attribute (ground truth)</h3>\n<table><tr><th>attribute</th><th>noise</th><th>positives</th><th>precision</th><th>recall</th><th>AUROC</th><th>span F1</th><th>opening recall</th></tr>\n"
            func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "—" }
            for r in d.rows {
                h += "<tr><td>\(esc(r.attribute))</td><td>\(esc(r.kind))</td><td class=\"n\">\(r.positives)</td><td class=\"n\">\(String(format: "%.3f", r.precision))</td>"
                h += "<td class=\"n\">\(String(format: "%.3f", r.recall))</td><td class=\"n\">\(String(format: "%.3f", r.auroc))</td><td class=\"n\">\(f(r.spanF1))</td><td class=\"n\">\(f(r.openingRecall))</td></tr>\n"
            }
            h += "</table>\n"
        }
        h += "</section>\n"

        // Attributes
        let s = report.settings
        h += "<section id=\"attributes\"><h2>The three attributes over the whole dataset</h2>\n"
        h += "<p>Rules: KN flags PCP &gt; \(SVG.tick(s.tauKN)); RI flags RI below its sample's fence Q1 - \(SVG.tick(s.kIQR)) IQR"
        h += s.riFence == .logIQR ? " computed on log RI" : ""
        h += " (\(data.stats.riVariant.rawValue)\(data.stats.uniformRelative ? ", relative to uniform" : "")); TR flags multi-Otsu class(es) "
        h += s.flagClasses.map { "C\($0 + 1)" }.joined(separator: ", ") + " of \(s.otsuClasses). Caps per sample: RI \(pct(s.caps.ri)), KN \(pct(s.caps.kn)), TR \(pct(s.caps.tr)).</p>\n"
        h += "<div class=\"grid\">"
        for name in ["histogram-ri.svg", "histogram-kn.svg", "histogram-tr.svg"] { if let f = figure[name] { h += "<figure class=\"histogram\">\(f)</figure>" } }
        h += "</div>\n<h3>Sensitivity: the masked fraction as each threshold moves</h3>\n<div class=\"grid\">"
        for name in ["sensitivity-ri.svg", "sensitivity-kn.svg", "sensitivity-tr.svg"] { if let f = figure[name] { h += "<figure>\(f)</figure>" } }
        h += "</div></section>\n"

        // Overlap and most flagged tokens
        h += "<section id=\"overlap\"><h2>Overlap of the flagged sets, and the most flagged tokens</h2>\n<div class=\"grid\">"
        if let f = figure["overlap.svg"] { h += "<figure>\(f)</figure>" }
        h += "<table><tr><th>token</th><th>times flagged</th></tr>\n"
        for (text, count) in zip(data.stats.topFlaggedTokenText, report.topFlaggedTokens).prefix(30) {
            h += "<tr><td><code>\(esc(Self.visible(text)))</code></td><td class=\"n\">\(count.flagged)</td></tr>\n"
        }
        h += "</table></div></section>\n"

        // Sample browser
        let shown = data.samples.chosen.count, total = data.samples.total
        h += "<section id=\"samples\"><h2>Samples</h2>\n"
        h += "<p class=\"muted\">\(shown == total ? "All \(total) samples" : "\(shown) of \(total) samples: the \(shown / 2) most masked and an even spread of the others (xtf report --max-samples N)"). "
        h += "Response tokens only; hover a token for its scores and the thresholds.</p>\n"
        h += "<div id=\"sample-browser\"><div class=\"controls\"><input id=\"search\" type=\"search\" placeholder=\"sample id\" aria-label=\"search by id\">"
        h += "<label>sort <select id=\"sort\"><option value=\"desc\">mask ratio, highest first</option><option value=\"asc\">mask ratio, lowest first</option><option value=\"file\">file order</option></select></label>"
        h += "<label>shade <select id=\"shade\"><option value=\"mask\">masked / kept</option><option value=\"ri\">RI</option><option value=\"kn\">KN (PCP)</option><option value=\"tr\">TR</option></select></label></div>\n"
        h += "<div class=\"browser\"><div><ol id=\"sample-list\"></ol><div class=\"pager\"><button id=\"prev\">previous</button> <span id=\"page\"></span> <button id=\"next\">next</button></div></div>"
        h += "<div id=\"sample-view\"></div></div></div>\n"
        h += "<script type=\"application/json\" id=\"sample-data\">\(samplesJSON())</script>\n</section>\n"

        // Cluster
        h += "<section id=\"cluster\"><h2>The cluster</h2>\n<h3>Scoring</h3>\n"
        let ranks = rankRows()
        if ranks.contains(where: { $0.seconds == nil }) {
            h += "<p class=\"muted\">Chunks of this run were not timed (made by an xtf before chunk timing): tokens per rank only.</p>\n"
        }
        if let f = figure["ranks.svg"] { h += "<figure>\(f)</figure>\n" }
        h += "<table><tr><th>rank</th><th>chunks</th><th>tokens</th><th>busy (s)</th><th>tokens/s</th><th>idle (s)</th></tr>\n"
        for r in ranks {
            h += "<tr><td>\(r.rank)</td><td class=\"n\">\(r.chunks)</td><td class=\"n\">\(r.tokens)</td><td class=\"n\">\(r.seconds.map { String(format: "%.1f", $0) } ?? "-")</td>"
            h += "<td class=\"n\">\(r.tokensPerSecond.map { String(format: "%.0f", $0) } ?? "-")</td><td class=\"n\">\(r.idle.map { String(format: "%.1f", $0) } ?? "-")</td></tr>\n"
        }
        h += "</table>\n"
        if !data.arms.isEmpty {
            h += "<h3>Training: where the step time went (seconds, summed over steps)</h3>\n"
            h += "<table><tr><th>arm</th><th>steps</th><th>forward + backward</th><th>exposed communication</th><th>all-reduce (overlapped or not)</th><th>optimiser</th><th>exposed share</th></tr>\n"
            for arm in data.arms {
                func sum(_ key: KeyPath<LossRecord, Double?>) -> Double? {
                    arm.steps.allSatisfy { $0[keyPath: key] != nil } && !arm.steps.isEmpty ? arm.steps.reduce(0) { $0 + ($1[keyPath: key] ?? 0) } : nil
                }
                let compute = sum(\.compute), exposed = sum(\.exposedCommunication), all = sum(\.communication), optimizer = sum(\.optimizer)
                func cell(_ v: Double?) -> String { "<td class=\"n\">\(v.map { String(format: "%.2f", $0) } ?? "-")</td>" }
                var share: Double?
                if let compute, let exposed, let optimizer, compute + exposed + optimizer > 0 { share = exposed / (compute + exposed + optimizer) }
                h += "<tr><td>\(esc(arm.name))</td><td class=\"n\">\(arm.steps.count)</td>" + cell(compute) + cell(exposed) + cell(all) + cell(optimizer)
                h += "<td class=\"n\">\(share.map { pct($0) } ?? "-")</td></tr>\n"
            }
            h += "</table>\n"
        }
        h += "</section>\n"

        // Manifest
        h += "<section id=\"manifest\"><h2>Manifest</h2>\n"
        if let c = data.runConfiguration { h += "<details open><summary>run.json (the resolved configuration)</summary><pre>\(esc(c))</pre></details>\n" }
        if let c = data.environment { h += "<details><summary>environment.json (xtf, MPI and OpenBLAS versions; each rank's host)</summary><pre>\(esc(c))</pre></details>\n" }
        if let c = data.scoreSettings { h += "<details><summary>scoring settings (model, data, task)</summary><pre>\(esc(c))</pre></details>\n" }
        if let c = data.maskSettingsText { h += "<details><summary>mask settings</summary><pre>\(esc(c))</pre></details>\n" }
        h += "<details><summary>\(data.files.count) files with their SHA-256</summary><table><tr><th>file</th><th>bytes</th><th>SHA-256</th></tr>\n"
        for f in data.files { h += "<tr><td>\(esc(f.path))</td><td class=\"n\">\(f.bytes)</td><td><code>\(esc(f.sha256))</code></td></tr>\n" }
        h += "</table></details></section>\n</main>\n"
        h += "<script>\(Self.script)</script>\n</body></html>\n"
        return h
    }

    /// The browser's data: per sample its tokens and scores, 4 significant digits.
    func samplesJSON() -> String {
        let s = data.stats.report.settings
        var out = "{\"settings\":{\"tauKN\":\(s.tauKN),\"kIQR\":\(s.kIQR),\"logFence\":\(s.riFence == .logIQR),"
        out += "\"trThresholds\":[\((data.stats.report.trThresholds ?? []).map { num($0) }.joined(separator: ","))],"
        out += "\"flagClasses\":[\(s.flagClasses.map(String.init).joined(separator: ","))]},\"samples\":["
        for (i, sample) in data.samples.chosen.enumerated() {
            let r = sample.record
            if i > 0 { out += "," }
            out += "{\"id\":\(scriptSafeJSON(r.id)),\"n\":\(sample.index),\"ratio\":\(num(sample.maskRatio)),\"fence\":\(sample.riFence.map(num) ?? "null"),"
            out += "\"t\":\(scriptSafeJSON(r.tokens)),"
            out += "\"p\":[\(r.pcp.map { $0.map { num(Double($0)) } ?? "null" }.joined(separator: ","))],"
            out += "\"r\":[\(r.ri.map { $0.map { num(Double($0)) } ?? "null" }.joined(separator: ","))],"
            out += "\"s\":[\(r.tr.map { $0.map { num(Double($0)) } ?? "null" }.joined(separator: ","))],"
            out += "\"f\":\(scriptSafeJSON(r.flags))}"
        }
        return out + "]}"
    }

    /// `v` to 4 significant digits as a JSON number (Float's shortest form: String(format:)
    /// is too slow for a million scores).
    func num(_ v: Double) -> String {
        guard v.isFinite else { return "null" }
        guard v != 0 else { return "0" }
        let scale = pow(10, 3 - floor(log10(abs(v))))
        return Float((v * scale).rounded() / scale).description
    }

    /// JSON text that is also safe inside a <script> element: "<" only occurs in JSON strings,
    /// where "\u003c" means the same, so "</script>" can never appear.
    func scriptSafeJSON<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let text = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        return text.replacingOccurrences(of: "<", with: "\\u003c")
    }

    func esc(_ s: String) -> String { SVG.escape(s) }
    func pct(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
    /// Leading and trailing spaces made visible in token tables.
    static func visible(_ token: String) -> String { token.replacingOccurrences(of: " ", with: "␣") }

    static let css = """
        body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
        header{background:#24344d;color:#fff;padding:12px 24px}header h1{margin:0;font-size:22px}
        header a{color:#cfe0ff;margin-right:12px}.muted{color:#777}header .muted{color:#c8d2e0;margin:4px 0}
        main{padding:8px 24px;max-width:1400px}section{background:#fff;border:1px solid #e2e2e2;border-radius:6px;padding:8px 16px;margin:14px 0}
        table{border-collapse:collapse;margin:8px 0}td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;font-size:13px}
        td.n{text-align:right;font-variant-numeric:tabular-nums}.grid{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
        figure{margin:4px}svg{max-width:100%;height:auto}pre{background:#f4f4f4;padding:8px;overflow:auto;max-height:420px;font-size:12px}
        .controls{display:flex;gap:14px;margin:6px 0}.browser{display:grid;grid-template-columns:280px 1fr;gap:14px}
        #sample-list{list-style:none;padding:0;margin:0;max-height:620px;overflow:auto;border:1px solid #eee}
        #sample-list li{padding:3px 8px;cursor:pointer;font-size:13px;display:flex;justify-content:space-between}
        #sample-list li.current{background:#dde8f7}#sample-list li:hover{background:#eef3fa}
        #sample-view{border:1px solid #eee;padding:10px;min-height:200px}
        .tokens{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:14px;line-height:1.9}
        .tok{border-radius:2px}.tok.flagged{outline:1.5px solid #c0392b}.tok sup{color:#c0392b;font-size:9px;margin-left:1px}
        .legend{font-size:12px;color:#555;margin-top:8px}
        """

    static let script = """
        (function () {
          var errors = [];
          window.addEventListener('error', function (e) { errors.push(String(e.message)); document.body.dataset.errors = errors.join(' | '); });
          var payload = JSON.parse(document.getElementById('sample-data').textContent);
          var settings = payload.settings, samples = payload.samples;
          var list = document.getElementById('sample-list'), view = document.getElementById('sample-view');
          var search = document.getElementById('search'), sort = document.getElementById('sort'), shade = document.getElementById('shade');
          var pageSize = 50, page = 0, current = null, order = [];
          function fmt(v, d) { return v === null ? '-' : Number(v).toPrecision(d || 4); }
          function trClass(v) {
            if (v === null) return null;
            var c = 1;
            for (var i = 0; i < settings.trThresholds.length; i++) if (v >= settings.trThresholds[i]) c = i + 2;
            return c;
          }
          function refresh() {
            var q = search.value.trim().toLowerCase();
            order = samples.filter(function (s) { return !q || s.id.toLowerCase().indexOf(q) >= 0; });
            if (sort.value === 'desc') order.sort(function (a, b) { return b.ratio - a.ratio || a.n - b.n; });
            else if (sort.value === 'asc') order.sort(function (a, b) { return a.ratio - b.ratio || a.n - b.n; });
            else order.sort(function (a, b) { return a.n - b.n; });
            page = Math.min(page, Math.max(0, Math.ceil(order.length / pageSize) - 1));
            drawList();
            if (order.length && (current === null || order.indexOf(current) < 0)) show(order[0]);
            if (!order.length) { current = null; view.textContent = 'No sample matches.'; }
          }
          function drawList() {
            list.textContent = '';
            order.slice(page * pageSize, (page + 1) * pageSize).forEach(function (s) {
              var li = document.createElement('li');
              var name = document.createElement('span'); name.textContent = s.id;
              var ratio = document.createElement('span'); ratio.textContent = (100 * s.ratio).toFixed(1) + '%';
              li.appendChild(name); li.appendChild(ratio);
              if (s === current) li.className = 'current';
              li.addEventListener('click', function () { show(s); });
              list.appendChild(li);
            });
            document.getElementById('page').textContent = order.length ? 'page ' + (page + 1) + ' of ' + Math.ceil(order.length / pageSize) + ' (' + order.length + ' samples)' : '';
          }
          function colour(s, i, logRange) {
            var mode = shade.value;
            if (mode === 'mask') return s.f[i] ? 'rgba(192,57,43,0.28)' : '';
            if (mode === 'kn') return s.p[i] === null ? '' : 'rgba(74,122,181,' + (0.85 * s.p[i]).toFixed(3) + ')';
            if (mode === 'tr') return s.s[i] === null ? '' : 'rgba(27,158,119,' + (0.85 * (1 - (s.s[i] + 1) / 2)).toFixed(3) + ')';
            // RI: low attention received is strong, on the sample's log scale.
            if (s.r[i] === null || s.r[i] <= 0 || !logRange) return '';
            var lo = logRange[0], hi = logRange[1];
            var x = hi > lo ? (hi - Math.log(s.r[i])) / (hi - lo) : 0;
            return 'rgba(117,112,179,' + (0.85 * x).toFixed(3) + ')';
          }
          function show(s) {
            current = s;
            view.textContent = '';
            var head = document.createElement('h3');
            var flagged = s.f.filter(function (f) { return f; }).length;
            head.textContent = s.id + ': ' + s.t.length + ' response tokens, ' + flagged + ' masked (' + (100 * s.ratio).toFixed(1) + '%)';
            view.appendChild(head);
            // The sample's range of log RI, once (not per token).
            var logs = s.r.filter(function (v) { return v !== null && v > 0; }).map(Math.log);
            var logRange = logs.length ? [Math.min.apply(null, logs), Math.max.apply(null, logs)] : null;
            var box = document.createElement('div'); box.className = 'tokens';
            s.t.forEach(function (text, i) {
              var span = document.createElement('span');
              span.className = 'tok' + (s.f[i] ? ' flagged' : '');
              span.textContent = text.split('\\\\n').join('\\n');
              var c = colour(s, i, logRange); if (c) span.style.background = c;
              var cls = trClass(s.s[i]);
              span.title = 'token ' + i + ' ' + JSON.stringify(text) +
                '\\nPCP ' + fmt(s.p[i]) + '  (KN flags PCP > ' + settings.tauKN + ')' +
                '\\nRI ' + fmt(s.r[i]) + '  (this sample\\'s fence ' + fmt(s.fence) + (settings.logFence ? ', on log RI' : '') + ')' +
                '\\nTR ' + fmt(s.s[i]) + '  (class ' + (cls === null ? '-' : 'C' + cls) + '; flagged: ' + settings.flagClasses.map(function (c) { return 'C' + (c + 1); }).join(', ') + ')' +
                '\\nflagged by: ' + (s.f[i] || 'nothing');
              if (s.f[i]) { var sup = document.createElement('sup'); sup.textContent = s.f[i]; span.appendChild(sup); }
              box.appendChild(span);
            });
            view.appendChild(box);
            var legend = document.createElement('p'); legend.className = 'legend';
            legend.textContent = 'Outlined: masked, with the rules that fired. Shading: ' + shade.options[shade.selectedIndex].text + '.';
            view.appendChild(legend);
            drawList();
          }
          search.addEventListener('input', function () { page = 0; refresh(); });
          sort.addEventListener('change', function () { page = 0; refresh(); });
          shade.addEventListener('change', function () { if (current) show(current); });
          document.getElementById('prev').addEventListener('click', function () { if (page > 0) { page--; drawList(); } });
          document.getElementById('next').addEventListener('click', function () { if ((page + 1) * pageSize < order.length) { page++; drawList(); } });
          window.addEventListener('load', function () { document.body.dataset.loadMs = Math.round(performance.now()); });
          refresh();
          document.body.dataset.renderMs = Math.round(performance.now());
          document.body.dataset.ready = errors.length ? 'errors' : 'yes';
        })();
        """
}
