// docs/prometheus-alerts.yml checked by Prometheus's own rule tester on synthetic series: a
// steady leak fires the alert, a cache that levels off and batches that are released do not.
// docs/grafana-dashboard.json is valid JSON whose queries use only metrics swheap serves.

import Foundation
import SwHeapTestSupport
import XCTest

final class AlertRuleTests: XCTestCase {
    private var root: URL { Harness.root }

    func testLeakFiresAndCachesAndBatchesDoNot() throws {
        guard ProgramRunner.exists("promtool") else {
            print("SKIPPED: promtool is not installed (scripts/deps test installs prometheus)")
            throw XCTSkip("promtool is not installed")
        }
        let output = try ProgramRunner.output("promtool", ["test", "rules", Harness.fixtures.appendingPathComponent("alert-rules-test.yml").path])
        XCTAssertTrue(output.contains("SUCCESS"), output)
    }

    func testDashboardQueriesServedMetrics() throws {
        let data = try Data(contentsOf: root.appendingPathComponent("docs/grafana-dashboard.json"))
        let dashboard = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try XCTUnwrap(dashboard["panels"] as? [[String: Any]])
        let expressions = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        XCTAssertGreaterThanOrEqual(expressions.count, 3)
        let served = ["swheap_live_bytes", "swheap_live_objects", "swheap_allocated_bytes", "swheap_epochs",
                      "swheap_site_live_bytes", "swheap_site_growth_bytes_per_second", "swheap_site_unreferenced_bytes",
                      "swheap_site_verdict", "swheap_threads", "swheap_site_threads", "swheap_thread_site_verdict",
                      "swheap_rss_bytes", "swheap_anon_bytes", "swheap_allocator_in_use_bytes", "swheap_allocator_free_bytes",
                      "swheap_allocator_held_bytes", "swheap_allocator_arenas", "swheap_memory_verdict"]
        // The dashboard's alert panel shows the alert rule's own expression (filtered by $pid).
        let rules = try String(contentsOf: root.appendingPathComponent("docs/prometheus-alerts.yml"), encoding: .utf8)
        let rule = try XCTUnwrap(rules.components(separatedBy: "expr: |").last?.components(separatedBy: "labels:").first)
        let squeeze = { (text: String) in text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        let panel = expressions.map { $0.replacingOccurrences(of: #"{pid=~"$pid"}"#, with: "") }
        XCTAssertTrue(panel.map(squeeze).contains(squeeze(rule)), "the dashboard's alert panel drifted from docs/prometheus-alerts.yml")
        for expression in expressions {
            let names = expression.split(whereSeparator: { !($0.isLetter || $0 == "_") }).filter { $0.hasPrefix("swheap_") }
            XCTAssertFalse(names.isEmpty, expression)
            for name in names { XCTAssertTrue(served.contains(String(name)), "\(name) is not a metric swheap serves") }
        }
    }
}
