import Training
import XCTest

/// The pieces in which a rank's moments go to rank 0 for a checkpoint: consecutive, covering
/// the slice, none longer than `pieceElements`, none empty.
final class MomentPiecesTests: XCTestCase {
    func testPiecesCoverTheSliceInBoundedMessages() {
        let size = CheckpointStore.pieceElements
        for slice in [0..<0, 16..<16, 5..<17, 0..<size, 32..<(size + 32), 48..<(2 * size + 51)] {
            let pieces = CheckpointStore.pieces(of: slice)
            XCTAssertEqual(pieces.count, (slice.count + size - 1) / size, "\(slice)")
            XCTAssertEqual(pieces.first?.lowerBound ?? slice.lowerBound, slice.lowerBound, "\(slice)")
            XCTAssertEqual(pieces.last?.upperBound ?? slice.upperBound, slice.upperBound, "\(slice)")
            for (a, b) in zip(pieces, pieces.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound, "\(slice)") }
            XCTAssertTrue(pieces.allSatisfy { !$0.isEmpty && $0.count <= size }, "\(slice)")
        }
    }
}
