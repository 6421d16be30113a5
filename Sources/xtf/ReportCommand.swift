import ArgumentParser
import Artifacts
import Foundation
import Experiment
import Report

/// `xtf report`: the run as one HTML page that opens from disk, and its charts as SVG files.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report of a run (and its charts as SVG files).",
        discussion: """
            RUN_DIR is an `xtf run` directory or a scoring run (`xtf score --out`). The page holds \
            the comparison table and loss curves of the arms, each attribute's histogram with its \
            thresholds and sensitivity curve, the overlap of the flagged sets, the most flagged \
            tokens, a sample browser (tokens shaded by attribute, hover for scores and thresholds), \
            per-rank scoring throughput, communication while training, and the manifest. Nothing \
            is fetched: no server and no network needed. A large run's browser holds \
            --max-samples samples: the most masked half and an even spread of the rest.
            """)

    @Argument(help: "Run directory.") var runDirectory: String
    @Option(help: "The HTML file (default: RUN_DIR/report.html).") var out: String?
    @Option(help: "Directory for the charts as SVG files (default: RUN_DIR/figures).") var figures: String?
    @Option(help: "Samples the browser holds at most.") var maxSamples = 1000

    func validate() throws {
        guard maxSamples >= 1 else { throw ValidationError("--max-samples must be at least 1") }
    }

    func run() throws {
        let data = try RunData(root: runDirectory, maxSamples: maxSamples)
        let report = HTMLReport(data: data, version: Build.version)
        let html = (out ?? (runDirectory as NSString).appendingPathComponent("report.html"))
        let figureDirectory = figures ?? (runDirectory as NSString).appendingPathComponent("figures")
        try FileManager.default.createDirectory(atPath: figureDirectory, withIntermediateDirectories: true)
        for figure in report.figures {
            try AtomicFile.write(figure.svg, to: (figureDirectory as NSString).appendingPathComponent(figure.name))
        }
        try AtomicFile.write(report.render(), to: html)
        print("report: \(html) (\(data.samples.chosen.count) of \(data.samples.total) samples in the browser); \(report.figures.count) figures in \(figureDirectory)")
    }
}
