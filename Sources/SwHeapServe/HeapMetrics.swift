// The Prometheus metrics of a watched directory, exposed through swift-prometheus's registry
// (a fresh registry per change, so series of sites that left the top findings disappear):
//   swheap_live_bytes, swheap_live_objects, swheap_allocated_bytes, swheap_epochs   per process
//   swheap_site_live_bytes, swheap_site_growth_bytes_per_second,
//   swheap_site_unreferenced_bytes (as of the latest scan, at exit or live)         per finding
//   swheap_scan_timestamp_seconds, swheap_scan_pause_seconds,
//   swheap_scan_duration_seconds (labelled kind="exit"|"live")   per process, of the scan the
//     unreferenced figures come from
//   swheap_site_verdict                                                             per finding, = 1
//   swheap_threads{state="running"|"exited_unjoined"}, swheap_thread_stack_bytes    per process
//   swheap_site_threads{state=...}, swheap_thread_site_verdict       per top thread creation site
//   swheap_rss_bytes, swheap_anon_bytes, swheap_allocator_in_use_bytes,
//   swheap_allocator_free_bytes, swheap_allocator_held_bytes, swheap_allocator_arenas,
//   swheap_memory_verdict (1, labelled with the verdict and allocator)               per process,
//     from the MEMORY records: RSS from the latest dump, the allocator's figures from the
//     latest dump that has them; a figure that was not taken has no series
//   swheap_silent_process (1, labelled pid, command, uid)        per process that started
//     under swheap, changed user and left no dump since (`swheap report` says why)
// Process labels: pid, command (trailing spaces and NULs cut, then cut to 80 characters).
// Finding labels add site only, so a site keeps one series for as long as it is listed
// whatever its verdict or rank does: graphs do not break and alerts do not reset when a site
// goes from too-few-epochs to growing. The verdict is its own series, labelled with it and
// always 1 (join it with `* on (pid, command, site) group_left (verdict)`); the rank is not
// published (the order of findings is the order of their live bytes or growth). Only the
// listed findings (--top) get series, which bounds the label cardinality.

import Prometheus
import SwHeapOutput
import SwHeapRanking
import SwHeapStore

enum HeapMetrics {
    static let commandLength = 80

    /// The listed findings of one process, one per site label: two listed sites of the same
    /// name (which would otherwise overwrite each other's series) are added up under the first's
    /// verdict (the higher ranked).
    struct SiteSeries: Equatable {
        var site: String
        var verdict: Verdict
        var liveBytes: Double
        var growthBytesPerSecond: Double
        var unreferencedBytes: Double?
    }

    static func siteSeries(_ listed: [SiteVerdict]) -> [SiteSeries] {
        var order: [String] = []
        var bySite: [String: SiteSeries] = [:]
        for site in listed {
            if var seen = bySite[site.site] {
                seen.liveBytes += site.liveBytes
                seen.growthBytesPerSecond += site.growthBytesPerSecond
                if let unreferenced = site.unreferencedBytes { seen.unreferencedBytes = (seen.unreferencedBytes ?? 0) + unreferenced }
                bySite[site.site] = seen
            } else {
                order.append(site.site)
                bySite[site.site] = SiteSeries(site: site.site, verdict: site.verdict, liveBytes: site.liveBytes,
                                               growthBytesPerSecond: site.growthBytesPerSecond,
                                               unreferencedBytes: site.unreferencedBytes)
            }
        }
        return order.map { bySite[$0]! }
    }

    static func exposition(_ sections: [ReportHTML.Section], silent: [SilentProcess] = []) -> String {
        let registry = PrometheusCollectorRegistry()
        for process in silent {
            let command = String(ProcessReport.trimmingPadding(process.note.command).prefix(commandLength))
            gauge(registry, "swheap_silent_process",
                  "1 for a process that started under swheap, changed user and left no dump since (swheap report says why).",
                  [("pid", String(process.note.pid)), ("command", command), ("uid", String(process.note.toUID))], 1)
        }
        for section in sections {
            let process = section.process, report = section.report
            let command = String(ProcessReport.trimmingPadding(report.command).prefix(commandLength))
            let labels = [("pid", String(process.pid)), ("command", command)]
            let last = process.totals.last ?? EpochTotals()
            gauge(registry, "swheap_live_bytes", "Estimated live heap bytes at the latest dump.", labels, last.liveBytes)
            gauge(registry, "swheap_live_objects", "Estimated live heap objects at the latest dump.", labels, last.liveObjects)
            gauge(registry, "swheap_allocated_bytes", "Estimated bytes allocated since the process started.", labels, last.allocBytes)
            gauge(registry, "swheap_epochs", "Dumps written by the process.", labels, Double(process.epochs.count))
            if let memory = report.memory { memoryGauges(registry, memory, labels) }
            if let scan = process.scan, scan.foundVerdicts {
                let scanLabels = labels + [("kind", scan.record.isLive ? "live" : "exit")]
                gauge(registry, "swheap_scan_timestamp_seconds", "When the scan the unreferenced figures come from began (Unix time).",
                      scanLabels, Double(scan.record.wallNs) / 1e9)
                gauge(registry, "swheap_scan_pause_seconds", "How long that scan stopped the process's threads.",
                      scanLabels, Double(scan.record.pauseNs) / 1e9)
                gauge(registry, "swheap_scan_duration_seconds", "How long that scan took in all.",
                      scanLabels, Double(scan.record.durationNs) / 1e9)
            }
            for site in siteSeries(report.listed) {
                let siteLabels = labels + [("site", site.site)]
                gauge(registry, "swheap_site_live_bytes", "Estimated live bytes of a top finding.", siteLabels, site.liveBytes)
                gauge(registry, "swheap_site_growth_bytes_per_second", "Growth rate of a top finding's live bytes.",
                      siteLabels, site.growthBytesPerSecond)
                if let unreferenced = site.unreferencedBytes {
                    gauge(registry, "swheap_site_unreferenced_bytes", "Live bytes of a top finding that nothing referenced at the latest scan (at exit, or live).",
                          siteLabels, unreferenced)
                }
                gauge(registry, "swheap_site_verdict",
                      "The verdict on a top finding, as its verdict label (always 1; one series per site at a time).",
                      siteLabels + [("verdict", site.verdict.rawValue)], 1)
            }
            if let threads = report.ranking.threads { threadGauges(registry, threads, labels: labels, top: report.listed.count) }
        }
        return registry.emitToString()
    }

    /// Per process the thread census's totals; per top creation site (suspects, then the sites
    /// holding most threads, as many as the heap findings listed, at least 5) its threads.
    private static func threadGauges(_ registry: PrometheusCollectorRegistry, _ threads: ThreadRanking,
                                     labels: [(String, String)], top: Int) {
        let help = "Threads of the process by state at the latest dump (exited_unjoined: ended, never joined, stack still mapped)."
        gauge(registry, "swheap_threads", help, labels + [("state", "running")], Double(threads.running))
        gauge(registry, "swheap_threads", help, labels + [("state", "exited_unjoined")], Double(threads.exitedUnjoined))
        gauge(registry, "swheap_thread_stack_bytes", "Stack mappings held by running and never-joined threads.", labels,
              Double(threads.stackBytes))
        let shown = threads.sites.enumerated().filter { $0.offset < max(top, 5) || $0.element.verdict.isSuspect }
        for (_, site) in shown {
            // Identity is pid, command and site, as for heap findings: a verdict change keeps the series.
            let siteLabels = labels + [("site", site.site)]
            let siteHelp = "Threads of a top thread creation site by state at the latest dump."
            gauge(registry, "swheap_site_threads", siteHelp, siteLabels + [("state", "running")], Double(site.running))
            gauge(registry, "swheap_site_threads", siteHelp, siteLabels + [("state", "exited_unjoined")],
                  Double(site.exitedUnjoined))
            gauge(registry, "swheap_thread_site_verdict",
                  "The verdict on a top thread creation site, as its verdict label (always 1; one series per site at a time).",
                  siteLabels + [("verdict", site.verdict.rawValue)], 1)
        }
    }

    static func memoryGauges(_ registry: PrometheusCollectorRegistry, _ m: MemoryAssessment, _ labels: [(String, String)]) {
        let latest = m.timeline.last?.picture ?? m.reference.picture, p = m.reference.picture
        let figures: [(String, String, Double?)] = [
            ("swheap_rss_bytes", "Resident set size at the latest dump (statm).", latest.rssBytes.map { Double($0) }),
            ("swheap_anon_bytes", "Resident anonymous memory at the latest dump (smaps_rollup).", latest.anonBytes.map { Double($0) }),
            ("swheap_allocator_in_use_bytes", "Bytes in use by the allocator's own count.", p.inUseBytes.map { Double($0) }),
            ("swheap_allocator_free_bytes", "Bytes the allocator holds free (retention).", p.freeBytes.map { Double($0) }),
            ("swheap_allocator_held_bytes", "Bytes the allocator holds from the system.", p.heldBytes.map { Double($0) }),
            ("swheap_allocator_arenas", "Arenas of the allocator.", p.arenas.map { Double($0) }),
        ]
        for (name, help, value) in figures {
            if let value { gauge(registry, name, help, labels, value) }
        }
        gauge(registry, "swheap_memory_verdict", "1 for the process's memory verdict (retention, heap-growth, not-heap, stable).",
              labels + [("verdict", m.verdict.rawValue), ("allocator", m.allocator.rawValue)], 1)
    }

    private static func gauge(_ registry: PrometheusCollectorRegistry, _ name: String, _ help: String,
                              _ labels: [(String, String)], _ value: Double) {
        registry.makeGauge(name: name, labels: labels, help: help).set(value.isFinite ? value : 0)
    }
}
