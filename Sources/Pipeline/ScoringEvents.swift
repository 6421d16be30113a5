import Artifacts
import Foundation

/// The scoring statistics of a masked run as TensorBoard scalars (`--report-to tensorboard`),
/// beside the run's stats.json in RUN/tensorboard/: samples, response and masked tokens, per
/// attribute what its rule flagged and the quantiles of its scores, the overlap regions, the
/// mask ratio's quantiles, and each sensitivity curve (step = the point's index). Every
/// masking of the run (`xtf mask` again) adds an event file of its own.
public enum ScoringEvents {
    public static func write(_ stats: RunStats, run: String) throws {
        let r = stats.report
        var scalars: [(tag: String, value: Double)] = [
            ("score/samples", Double(r.samples)), ("score/response_tokens", Double(r.responseTokens)),
            ("score/masked_tokens", Double(r.maskedTokens)), ("score/masked_fraction", r.maskedFraction),
        ]
        for a in r.attributes {
            let name = a.attribute.rawValue.lowercased()
            scalars += [("score/\(name)/flagged_fraction", a.flaggedFraction), ("score/\(name)/flagged", Double(a.flagged)),
                        ("score/\(name)/flagged_by_rule", Double(a.flaggedByRule))]
            for point in a.scores.quantiles { if let value = point.value { scalars.append(("score/\(name)/quantile_\(point.q)", value)) } }
        }
        for region in r.overlap { scalars.append(("score/overlap/\(region.attributes.lowercased())", region.fraction)) }
        for point in r.maskRatio.quantiles { if let value = point.value { scalars.append(("score/mask_ratio/quantile_\(point.q)", value)) } }
        let events = try TensorBoardEvents(directory: (run as NSString).appendingPathComponent("tensorboard"))
        try events.add(step: 0, scalars: scalars)
        for curve in r.sensitivity {
            for (i, point) in curve.points.enumerated() {
                try events.add(step: i, scalars: [("sensitivity/\(curve.attribute.rawValue.lowercased())_\(curve.parameter)/masked_fraction", point.maskedFraction)])
            }
        }
    }
}
