import Foundation
import XCTest
import Scoring

final class MaskSettingsTests: XCTestCase {
    func decode(_ json: String) throws -> MaskSettings {
        try JSONDecoder().decode(MaskSettings.self, from: Data(json.utf8))
    }

    /// The field an invalid settings file is rejected for.
    func rejectedField(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            _ = try decode(json)
            XCTFail("accepted \(json)", file: file, line: line)
        } catch let ScoringError.invalidSetting(field, _) {
            return field
        } catch {
            XCTFail("\(json): \(error)", file: file, line: line)
        }
        return nil
    }

    func testEmptyObjectGivesThePaperDefaults() throws {
        let s = try decode("{}")
        XCTAssertEqual(s, MaskSettings())
        XCTAssertEqual(s.kIQR, 1.5); XCTAssertEqual(s.tauKN, 0.95)
        XCTAssertEqual(s.otsuClasses, 5); XCTAssertEqual(s.flagClasses, [1])
        XCTAssertEqual(s.caps, Caps(ri: 0.05, kn: 0.10, tr: 0.05))
        XCTAssertEqual(s.attributes, .all)
        XCTAssertEqual(s.riVariant, .lastLayer); XCTAssertFalse(s.uniformRelative)
        XCTAssertEqual(s.riFence, .iqr)
    }

    func testRoundTripAndPartialObjects() throws {
        let s = MaskSettings(kIQR: 1, tauKN: 0.9, otsuClasses: 4, flagClasses: [1, 2], caps: Caps(ri: 0, kn: 0.2, tr: 0.1),
                             attributes: [.kn, .tr], riVariant: .allLayers, uniformRelative: true)
        XCTAssertEqual(try JSONDecoder().decode(MaskSettings.self, from: JSONEncoder().encode(s)), s)
        XCTAssertEqual(try JSONDecoder().decode(MaskSettings.self, from: JSONEncoder().encode(MaskSettings(riFence: .logIQR))).riFence, .logIQR)
        let partial = try decode(#"{"caps": {"kn": 0.2}, "attributes": ["tr", "ri"], "riVariant": "all-layers", "riFence": "log-iqr"}"#)
        XCTAssertEqual(partial.riFence, .logIQR)
        XCTAssertEqual(partial.caps, Caps(ri: 0.05, kn: 0.2, tr: 0.05))
        XCTAssertEqual(partial.attributes, [.ri, .tr])
        XCTAssertEqual(partial.riVariant, .allLayers)
        XCTAssertFalse(partial.isActive(.kn))
        XCTAssertFalse(MaskSettings(caps: Caps(ri: 0)).isActive(.ri))
    }

    func testValidationErrorsNameTheField() {
        XCTAssertEqual(rejectedField(#"{"kIQR": -1}"#), "kIQR")
        XCTAssertEqual(rejectedField(#"{"tauKN": 1.5}"#), "tauKN")
        XCTAssertEqual(rejectedField(#"{"otsuClasses": 1}"#), "otsuClasses")
        XCTAssertEqual(rejectedField(#"{"flagClasses": []}"#), "flagClasses")
        XCTAssertEqual(rejectedField(#"{"flagClasses": [5]}"#), "flagClasses")
        XCTAssertEqual(rejectedField(#"{"otsuClasses": 3, "flagClasses": [1, 1]}"#), "flagClasses")
        XCTAssertEqual(rejectedField(#"{"caps": {"kn": 1.5}}"#), "caps.kn")
        XCTAssertEqual(rejectedField(#"{"caps": {"tr": -0.1}}"#), "caps.tr")
        XCTAssertEqual(rejectedField(#"{"attributes": []}"#), "attributes")
        XCTAssertEqual(rejectedField(#"{"tauKn": 0.9}"#), "tauKn")
        XCTAssertEqual(rejectedField(#"{"caps": {"ri": 0.1, "rl": 0.1}}"#), "caps.rl")
        XCTAssertThrowsError(try decode(#"{"riVariant": "first-layer"}"#))
        XCTAssertThrowsError(try decode(#"{"riFence": "log"}"#))
        XCTAssertThrowsError(try decode(#"{"attributes": ["rr"]}"#))
    }

    func testMaskerValidatesSettingsBuiltInCode() {
        XCTAssertThrowsError(try Masker(settings: MaskSettings(tauKN: -0.1, attributes: [.kn]), trThresholds: nil)) {
            XCTAssertEqual($0 as? ScoringError, .invalidSetting(field: "tauKN", reason: "must lie in [0, 1], got -0.1"))
        }
    }
}
