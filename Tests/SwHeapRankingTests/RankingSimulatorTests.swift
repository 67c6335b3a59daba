// The heap simulator of SwHeapTestSupport against hand-counted figures.

import XCTest
import SwHeapRanking
import SwHeapTestSupport

final class RankingSimulatorTests: XCTestCase {
    func testExactSimulationCountsEveryObject() {
        let (site, timeline) = Scenario.steadyLeak.simulate(epochs: 4, perEpoch: 10)
        XCTAssertEqual(timeline.count, 4)
        XCTAssertEqual(site.liveBytes, [10240, 20480, 30720, 40960])
        XCTAssertEqual(site.births.filter { $0.epochIndex == 3 }.map(\.birthEpoch), [1, 2, 3, 4])
    }
}
