import Artifacts
import Foundation
import GroundTruth
import Pipeline
import Report

extension ExperimentJob {
    /// Rank 0: report.md and report.json (the arms side by side, what was flagged in the data),
    /// detection.json (ground truth), report.html with its figures, and manifest.json.
    func writeReport(_ comparison: ArmComparison) throws -> Outcome {
        var report = "# xtf run: \(plan.out)\n"
        let table = ComparisonTable(comparison).markdown
        if !table.isEmpty { report += "\n" + table }
        report += try noiseSection()
        if let labels = plan.groundTruthLabels {
            let problems = try Detection.labels(path: labels)
            let detection = try Detection.evaluate(problems: problems, tokensFile: layout.score.tokens)
            try AtomicFile.writeJSON(detection, to: layout.detection)
            report += "\n## Injected noise found by each attribute\n\n\(detection.table)\n"
        }
        try AtomicFile.write(report, to: layout.reportMarkdown)
        try AtomicFile.writeJSON(comparison, to: layout.comparison)
        // The HTML report shows the manifest's checksums, then the manifest lists the report too.
        let entries = try writeManifest()
        let html = HTMLReport(data: try RunData(root: plan.out, maxSamples: 1000), version: Build.version)
        try FileManager.default.createDirectory(atPath: layout.figures, withIntermediateDirectories: true)
        for figure in html.figures { try AtomicFile.write(figure.svg, to: (layout.figures as NSString).appendingPathComponent(figure.name)) }
        try AtomicFile.write(html.render(), to: layout.reportHTML)
        // Only the report's files changed since (a rerun overwrites them): hash those again.
        try writeManifest(known: entries.filter { $0.path != "report.html" && !$0.path.hasPrefix("figures/") })
        return Outcome(reportMarkdown: report, reportFiles: [layout.reportMarkdown, layout.reportHTML])
    }

    /// What XTF flagged in the data, from the scoring run's stats.json and manifest.json.
    func noiseSection() throws -> String {
        let score = layout.score
        let stats = try JSONFiles.read(RunStats.self, from: score.stats)
        let t = try JSONFiles.read(Manifest.self, from: score.manifest).totals
        var text = "\n## Noise flagged in the data (score/stats.json)\n\n"
        text += "\(t.records) records: \(t.scored) scored, \(t.rejected) rejected (listed in score/manifest.json), \(t.truncatedSamples) truncated.\n"
        text += try accounting(scored: t.scored) + "\n"
        let overlap = stats.report.overlap.filter { $0.tokens > 0 }.map { "\($0.attributes) \($0.tokens)" }.joined(separator: ", ")
        return text + "```\n\(stats.summary)\n  flagged sets (exactly these rules): \(overlap.isEmpty ? "none" : overlap)\n```\n"
    }

    /// Where each arm's samples went (its train/samples.json): every scored sample trained on
    /// or held out. A count that does not add up is an error, not a line in a report.
    func accounting(scored: Int) throws -> String {
        var parts: [String] = []
        for arm in plan.arms {
            let path = (layout.armTraining(arm.name) as NSString).appendingPathComponent(TrainingAccount.fileName)
            guard exists(path) else { continue }  // trained before samples.json existed
            let account = try JSONFiles.read(TrainingAccount.self, from: path)
            // Arms on the scored run account for its samples; an arm on a dataset of its own, for that file's records.
            guard account.records == scored || arm.data != nil, account.reconciles else {
                throw PipelineError.corruptRun(path: path, reason: "\(account.trained) trained + \(account.heldOut.count) held out + "
                                               + "\(account.rejected.count) rejected does not account for the \(scored) scored samples")
            }
            parts.append("\(arm.name) \(account.trained) + \(account.heldOut.count)")
        }
        return parts.isEmpty ? "" : "Every scored sample trained on or held out (trained + held out, per arm): \(parts.joined(separator: ", ")).\n"
    }

    /// OUT/manifest.json: every file of the run (links followed once) with its size and SHA-256.
    /// Files in `known` are taken from it rather than read again.
    @discardableResult
    func writeManifest(known: [FileRecord] = []) throws -> [FileRecord] {
        let reuse = Dictionary(known.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let root = URL(fileURLWithPath: plan.out).standardized.path
        var entries: [FileRecord] = []
        let walker = FileManager.default.enumerator(atPath: root)
        while let relative = walker?.nextObject() as? String {
            let full = (root as NSString).appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard relative != (layout.manifest as NSString).lastPathComponent, FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
                  (try? FileManager.default.destinationOfSymbolicLink(atPath: full)) == nil else { continue }
            let size = (try FileManager.default.attributesOfItem(atPath: full)[.size] as? NSNumber)?.intValue ?? 0
            if let known = reuse[relative], known.bytes == size { entries.append(known); continue }
            entries.append(try FileRecord.of(relative, under: root))
        }
        entries.sort { $0.path < $1.path }
        try AtomicFile.writeJSON(entries, to: layout.manifest)
        return entries
    }
}
