import Model
import Training
import XCTest

/// Which trainable elements weight decay reaches: matrices always, norms and biases on request.
final class DecayedRangesTests: XCTestCase {
    func testMatricesDecayNormsAndBiasesOnlyWhenAsked() throws {
        var layout = ParameterLayout()
        layout.add("embed", [10, 4])          // 0..<40
        layout.add("ln.weight", [4])          // 40..<44
        layout.add("attn.weight", [4, 4])     // 44..<60
        layout.add("attn.bias", [4])          // 60..<64
        layout.add("lora_A", [2, 4])          // 64..<72
        var settings = TrainSettings()
        XCTAssertEqual(settings.decayedRanges(in: layout), [0..<40, 44..<60, 64..<72])
        settings.decayNormsAndBiases = true
        XCTAssertEqual(settings.decayedRanges(in: layout), [0..<40, 40..<44, 44..<60, 60..<64, 64..<72])
    }

    func testANegativeOrNonFiniteDecayIsRefused() {
        for value in [-0.01, .nan, .infinity] {
            var settings = TrainSettings()
            settings.weightDecay = value
            XCTAssertThrowsError(try settings.validate(), "\(value)") { error in
                XCTAssertTrue("\(error)".contains("weight-decay"), "\(error)")
            }
        }
    }
}
