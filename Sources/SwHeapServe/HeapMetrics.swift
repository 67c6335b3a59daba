// The Prometheus metrics of a watched directory, exposed through swift-prometheus's registry
// (a fresh registry per change, so series of sites that left the top findings disappear):
//   swheap_live_bytes, swheap_live_objects, swheap_allocated_bytes, swheap_epochs   per process
//   swheap_site_live_bytes, swheap_site_growth_bytes_per_second,
//   swheap_site_unreferenced_bytes                                                  per finding
// Process labels: pid, command (cut to 80 characters). Finding labels add site, verdict and
// rank; only the listed findings (--top) get series, which bounds the label cardinality.

import Prometheus
import SwHeapOutput
import SwHeapRanking
import SwHeapStore

enum HeapMetrics {
    static let commandLength = 80

    static func exposition(_ sections: [ReportHTML.Section]) -> String {
        let registry = PrometheusCollectorRegistry()
        for section in sections {
            let process = section.process, report = section.report
            let labels = [("pid", String(process.pid)), ("command", String(report.command.prefix(commandLength)))]
            let last = process.totals.last ?? EpochTotals()
            gauge(registry, "swheap_live_bytes", "Estimated live heap bytes at the latest dump.", labels, last.liveBytes)
            gauge(registry, "swheap_live_objects", "Estimated live heap objects at the latest dump.", labels, last.liveObjects)
            gauge(registry, "swheap_allocated_bytes", "Estimated bytes allocated since the process started.", labels, last.allocBytes)
            gauge(registry, "swheap_epochs", "Dumps written by the process.", labels, Double(process.epochs.count))
            for site in report.listed {
                let siteLabels = labels + [("site", site.site), ("verdict", site.verdict.rawValue), ("rank", String(site.rank))]
                gauge(registry, "swheap_site_live_bytes", "Estimated live bytes of a top finding.", siteLabels, site.liveBytes)
                gauge(registry, "swheap_site_growth_bytes_per_second", "Growth rate of a top finding's live bytes.",
                      siteLabels, site.growthBytesPerSecond)
                if let unreferenced = site.unreferencedBytes {
                    gauge(registry, "swheap_site_unreferenced_bytes", "Live bytes of a top finding that nothing referenced at exit.",
                          siteLabels, unreferenced)
                }
            }
        }
        return registry.emitToString()
    }

    private static func gauge(_ registry: PrometheusCollectorRegistry, _ name: String, _ help: String,
                              _ labels: [(String, String)], _ value: Double) {
        registry.makeGauge(name: name, labels: labels, help: help).set(value.isFinite ? value : 0)
    }
}
