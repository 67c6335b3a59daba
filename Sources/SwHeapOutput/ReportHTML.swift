// `swheap report --html`: one self-contained HTML file (no network, no external script or
// font) per report. Per process: a chart of estimated live heap over time, in total and for
// the top findings; the leak roots (sites growing together under a common caller, each with
// its member sites); the findings table with a sparkline per site and its stack; the flame
// graph of the last epoch; the memory verdict with RSS, what the allocator holds, its bytes in
// use and the sampled heap on one chart over time (from the dumps' MEMORY records). Swift computes every number and label (the one formatter is
// Quantity); the page's script only places them, so the file stays small and readable.

import Foundation
import SwHeapDump
import SwHeapRanking
import SwHeapStore

public enum ReportHTML {
    /// How many findings get their own line in the chart.
    static let chartedSites = 5

    struct Tick: Encodable { var v: Double; var l: String }

    struct SiteData: Encodable {
        var rank: Int
        var site: String
        var location: String?
        var verdict: String
        var suspect: Bool
        var live: String
        var growth: String
        var unreferenced: String
        var reason: String
        var stack: [String]
        var series: [Double]
    }

    /// A leak root: the caller named as the finding, its member sites under it.
    struct RootData: Encodable {
        var label: String          // "R1"
        var caller: String
        var headline: String
        var live: String
        var growth: String
        var unreferenced: String
        var reason: String
        var members: [Int]         // ranks of the member sites, strongest first
        var series: [Double]       // the members' live bytes per epoch, summed
    }

    /// A line of the chart: a root or a site.
    struct ChartLine: Encodable { var name: String; var series: [Double] }

    struct ProcessData: Encodable {
        var pid: Int32
        var command: String
        var summary: String
        var note: String?
        var times: [Double]
        var total: [Double]
        var xticks: [Tick]
        var yticks: [Tick]
        var sites: [SiteData]
        var roots: [RootData]
        var charted: [ChartLine]   // roots first, then suspects outside them
        var flame: String
        var threads: ThreadsData?  // nil: the dumps have no thread census
        var memory: MemoryData?
    }

    /// The thread census: a chart of threads held over time (all, and the top creation sites)
    /// and a table of the creation sites.
    struct ThreadsData: Encodable {
        var summary: String
        var times: [Double]
        var total: [Double]
        var xticks: [Tick]
        var yticks: [Tick]
        var charted: [ChartLine]
        var sites: [ThreadSiteData]
    }

    struct ThreadSiteData: Encodable {
        var site: String
        var verdict: String
        var running: String
        var unjoined: String
        var gone: String
        var stacks: String
        var reason: String
        var stack: [String]
        var series: [Double]
    }

    /// The memory verdict and its chart: a line per figure, null where a dump did not take it.
    struct MemoryData: Encodable {
        var verdict: String
        var reason: String
        var figures: String
        var advice: [String]
        var times: [Double]
        var xticks: [Tick]
        var yticks: [Tick]
        var lines: [MemoryLine]
    }

    struct MemoryLine: Encodable { var name: String; var colour: String; var series: [Double?] }

    /// One process of the page: its report, its heap (for the per-epoch series) and the flame
    /// graph of its last epoch (SVG text).
    public struct Section: Sendable {
        public var report: ProcessReport
        public var process: ProcessHeap
        public var flameGraph: String
        public init(report: ProcessReport, process: ProcessHeap, flameGraph: String) {
            self.report = report; self.process = process; self.flameGraph = flameGraph
        }
    }

    /// - Parameters:
    ///   - refreshSeconds: the page reloads itself this often (a served page); nil for a file.
    ///   - silent: processes that started under swheap and left no dump (`SilentProcess.line`),
    ///     listed above the processes: a worker that wrote nothing is never left unmentioned.
    public static func render(_ sections: [Section], title: String, refreshSeconds: Int? = nil, silent: [String] = []) -> String {
        let data = sections.map(processData)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]   // slashes stay escaped: "</script>" cannot end the block
        let json = (try? encoder.encode(data)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        let refresh = refreshSeconds.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? ""
        let silentList = silent.isEmpty ? "" : "<div class=\"silent\"><p>\(escaped(SilentProcess.heading(count: silent.count)))</p><ul>"
            + silent.map { "<li>\(escaped($0))</li>" }.joined() + "</ul></div>"
        return page.replacingOccurrences(of: "@REFRESH@", with: refresh)
            .replacingOccurrences(of: "@SILENT@", with: silentList)
            .replacingOccurrences(of: "@TITLE@", with: escaped(title))
            .replacingOccurrences(of: "@DATA@", with: json.replacingOccurrences(of: "<", with: "\\u003c"))
    }

    /// A site's live bytes per epoch: the sum over its stacks (a site is a function and line).
    static func series<Stack: RandomAccessCollection<Double>>(_ perStack: [Stack]) -> [Double] where Stack.Index == Int {
        var sums = [Double](repeating: 0, count: perStack.map(\.count).max() ?? 0)
        for stack in perStack {
            for (i, value) in stack.enumerated() { sums[i] += value }
        }
        return sums
    }

    static func processData(_ section: Section) -> ProcessData {
        let report = section.report, process = section.process
        let stacks = Dictionary(process.sites.map { ($0.stackID, $0) }, uniquingKeysWith: { first, _ in first })
        let sites = report.listed.map { verdict in
            SiteData(rank: verdict.rank, site: verdict.site, location: verdict.location, verdict: verdict.verdict.rawValue, suspect: verdict.isSuspect,
                     live: Quantity.bytes(verdict.liveBytes),
                     growth: Quantity.growth(verdict),
                     unreferenced: verdict.unreferencedBytes.map { Quantity.bytes($0) } ?? "-",
                     reason: verdict.reason + (report.heldBy[verdict.stackID].map { "; held by " + $0.text } ?? ""),
                     stack: verdict.stack.frames.map(\.displayText),
                     series: series(verdict.stacks.compactMap { stacks[$0.stackID]?.liveBytes }).map(finite))
        }
        let bySite = Dictionary(sites.map { ($0.rank, $0) }, uniquingKeysWith: { first, _ in first })
        let roots = report.ranking.roots.enumerated().map { index, root in
            RootData(label: "R\(index + 1)", caller: root.caller, headline: root.headline, live: Quantity.bytes(root.liveBytes),
                     growth: Quantity.rate(root.growthBytesPerSecond),
                     unreferenced: root.unreferencedBytes.map { Quantity.bytes($0) } ?? "-", reason: root.reason,
                     members: root.members.map(\.rank),
                     series: series(root.members.map { member in
                         bySite[member.rank]?.series
                             ?? series(member.stacks.compactMap { stacks[$0.stackID]?.liveBytes }).map(finite)
                     }))
        }
        let times = report.ranking.timeline.elapsedSeconds.map(finite)
        let total = process.totals.map { finite($0.liveBytes) }
        let inRoots = Set(roots.flatMap(\.members))
        let charted = Array((roots.map { ChartLine(name: "\($0.label) \($0.caller)", series: $0.series) }
            + sites.filter { $0.suspect && !inRoots.contains($0.rank) }.map { ChartLine(name: "#\($0.rank) \($0.site)", series: $0.series) })
            .prefix(chartedSites))
        let highest = ([total.max() ?? 0] + charted.map { $0.series.max() ?? 0 }).max() ?? 0
        let epochs = report.epochCount
        return ProcessData(
            pid: report.pid, command: report.command,
            summary: "pid \(report.pid), \(epochs) epoch\(epochs == 1 ? "" : "s"), \(Quantity.bytes(process.epochs.isEmpty ? 0 : finite(process.totals[process.shownEpoch.index].liveBytes))) live at "
                + (report.shownEpoch ?? "the last")
                + (process.rate == 1 ? ", every allocation recorded" : ", sampled every \(process.rate) bytes"),
            note: [report.evidenceNote, report.liveScan.map { "live scan: \($0)" }, report.attachNote].compactMap { $0 }.joined(separator: "; ").nilIfEmpty,
            times: times, total: total,
            xticks: niceTicks(upTo: times.last ?? 0).map { Tick(v: $0, l: Quantity.seconds($0)) },
            yticks: niceTicks(upTo: highest, binary: true).map { Tick(v: $0, l: Quantity.bytes($0)) },
            sites: sites, roots: roots, charted: charted, flame: section.flameGraph,
            threads: report.ranking.threads.map { threadsData($0, timeline: report.ranking.timeline) },
            memory: report.memory.map(memoryData))
    }

    /// Threads held (running + exited-unjoined) per dump with a census, and the sites.
    static func threadsData(_ threads: ThreadRanking, timeline: EpochTimeline) -> ThreadsData {
        let indices = threads.sites.first.map { site in site.held.indices.filter { site.held[$0] != nil } }
            ?? Array(timeline.elapsedSeconds.indices.suffix(threads.timeline.count))
        let times = indices.map { finite(timeline.elapsedSeconds[$0]) }
        let total = threads.timeline.map { Double($0.running + $0.exitedUnjoined) }
        let sites = threads.sites.map { v in
            ThreadSiteData(site: v.site, verdict: v.verdict.rawValue, running: String(v.running),
                           unjoined: String(v.exitedUnjoined), gone: String(v.gone), stacks: Quantity.bytes(Double(v.stackBytes)),
                           reason: v.reason, stack: v.stack.frames.map(\.displayText),
                           series: indices.map { v.held[$0] ?? 0 })
        }
        let charted = Array(sites.filter { $0.verdict != ThreadVerdict.stable.rawValue || sites.count <= chartedSites }
            .prefix(chartedSites).map { ChartLine(name: $0.site, series: $0.series) })
        let highest = ([total.max() ?? 0] + charted.map { $0.series.max() ?? 0 }).max() ?? 0
        return ThreadsData(
            summary: "\(threads.running) running, \(threads.exitedUnjoined) exited and never joined, "
                + "\(Quantity.bytes(Double(threads.stackBytes))) of stacks held, \(threads.gone) gone",
            times: times, total: total,
            xticks: niceTicks(upTo: times.last ?? 0).map { Tick(v: $0, l: Quantity.seconds($0)) },
            yticks: niceTicks(upTo: max(highest, 5)).map { Tick(v: $0, l: String(Int($0))) },
            charted: charted, sites: sites)
    }

    static func memoryData(_ m: MemoryAssessment) -> MemoryData {
        let pictures = m.timeline.map(\.picture)
        func line(_ name: String, _ colour: String, _ value: (MemoryPicture) -> Double?) -> MemoryLine? {
            let series = pictures.map { value($0).map(finite) }
            return series.contains { $0 != nil } ? MemoryLine(name: name, colour: colour, series: series) : nil
        }
        let candidates: [MemoryLine?] = [
            line("RSS", "#222") { p -> Double? in p.rssBytes.map { Double($0) } },
            line("allocator holds", "#e08a00") { p -> Double? in p.heldBytes.map { Double($0) } },
            line("allocator in use", "#1f5fa8") { p -> Double? in p.inUseBytes.map { Double($0) } },
            line("sampled live heap", "#2f8f5b") { p -> Double? in p.sampledLiveBytes },
        ]
        let lines = candidates.compactMap { $0 }
        let times = m.timeline.map { finite($0.elapsedSeconds) }
        let highest = lines.flatMap { $0.series.compactMap { $0 } }.max() ?? 0
        return MemoryData(verdict: m.verdict.rawValue, reason: m.reason, figures: m.figuresText, advice: m.adviceText,
                          times: times, xticks: niceTicks(upTo: times.last ?? 0).map { Tick(v: $0, l: Quantity.seconds($0)) },
                          yticks: niceTicks(upTo: highest, binary: true).map { Tick(v: $0, l: Quantity.bytes($0)) },
                          lines: lines)
    }

    /// 0 and about five round steps reaching at least `limit`: 1, 2 or 5 times a power of ten
    /// (seconds), or a power of two (bytes, so the labels read 128 KiB, 256 KiB, ...).
    static func niceTicks(upTo limit: Double, binary: Bool = false) -> [Double] {
        guard limit.isFinite, limit > 0 else { return [0] }
        let rough = limit / 5
        let step: Double
        if binary {
            step = pow(2, ceil(log2(rough)))
        } else {
            let power = pow(10, floor(log10(rough)))
            step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
        }
        return (0...Int((limit / step).rounded(.up))).map { Double($0) * step }
    }

    private static func finite(_ value: Double) -> Double { value.isFinite ? value : 0 }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static let page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">@REFRESH@
        <title>@TITLE@</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 24px; color: #222; background: #fdfcf8; }
        h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 32px; }
        .summary, .note { color: #555; font-size: 13px; } .note { font-style: italic; }
        table { border-collapse: collapse; font-size: 13px; margin-top: 12px; }
        th, td { padding: 4px 8px; text-align: left; vertical-align: top; border-bottom: 1px solid #e4e0d8; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        .v-growing { color: #c0262d; font-weight: 600; } .v-leaked-at-exit { color: #7b4fb0; font-weight: 600; }
        .v-plateau, .v-sawtooth, .v-stable { color: #2f6f3e; } .v-too-few-samples, .v-too-few-epochs { color: #777; }
        .v-never-joined { color: #7b4fb0; font-weight: 600; }
        .m-heap-growth { color: #c0262d; font-weight: 600; } .m-retention, .m-not-heap { color: #b06a00; font-weight: 600; }
        .m-stable { color: #2f6f3e; } div.memory { font-size: 13px; } div.memory ul { margin: 4px 0; }
        tr.root td { background: #f6efe4; } td.caller { font-weight: 600; } ul.roots { font-size: 13px; }
        details summary { cursor: pointer; } details pre { margin: 4px 0 0; font-size: 12px; color: #444; }
        svg.chart text { font-size: 11px; fill: #555; }
        .legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
        .legend i { display: inline-block; width: 14px; height: 3px; margin-right: 4px; vertical-align: middle; }
        iframe.flame { border: 0; width: 1210px; height: 300px; }
        div.silent { font-size: 13px; color: #b06a00; }
        </style></head>
        <body>
        <h1>@TITLE@</h1>
        @SILENT@
        <div id="processes"></div>
        <script type="application/json" id="report-data">@DATA@</script>
        <script>
        (function () {
          var NS = 'http://www.w3.org/2000/svg';
          var COLOURS = ['#c0262d', '#1f5fa8', '#e08a00', '#2f8f5b', '#7b4fb0'];
          var data = JSON.parse(document.getElementById('report-data').textContent);
          function el(tag, attrs, text) {
            var e = document.createElement(tag);
            for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
            if (text !== undefined) e.textContent = text;
            return e;
          }
          function svg(tag, attrs) {
            var e = document.createElementNS(NS, tag);
            for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
            return e;
          }
          function polyline(times, values, x, y) {
            return values.map(function (v, i) { return x(times[i]).toFixed(1) + ',' + y(v).toFixed(1); }).join(' ');
          }
          // One chart: `lines` are {values, colour, name, width}; a null value breaks its line.
          function drawChart(times, xticks, yticks, lines) {
            var p = { times: times, xticks: xticks, yticks: yticks };
            var W = 900, H = 260, L = 70, R = 10, T = 10, B = 30;
            var xmax = p.xticks[p.xticks.length - 1].v || 1, ymax = p.yticks[p.yticks.length - 1].v || 1;
            var x = function (t) { return L + (W - L - R) * t / xmax; };
            var y = function (v) { return H - B - (H - T - B) * v / ymax; };
            var s = svg('svg', { 'class': 'chart', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H });
            p.yticks.forEach(function (t) {
              s.appendChild(svg('line', { x1: L, x2: W - R, y1: y(t.v), y2: y(t.v), stroke: '#e4e0d8' }));
              var label = svg('text', { x: L - 6, y: y(t.v) + 4, 'text-anchor': 'end' }); label.textContent = t.l; s.appendChild(label);
            });
            p.xticks.forEach(function (t) {
              var label = svg('text', { x: x(t.v), y: H - 10, 'text-anchor': 'middle' }); label.textContent = t.l; s.appendChild(label);
            });
            var legend = el('div', { 'class': 'legend' });
            lines.forEach(function (l) {
              var run = [], runs = [];
              l.values.forEach(function (v, i) {
                if (v === null) { if (run.length) runs.push(run); run = []; } else run.push(i);
              });
              if (run.length) runs.push(run);
              runs.forEach(function (r) {
                s.appendChild(svg('polyline', { points: polyline(r.map(function (i) { return p.times[i]; }),
                                                                 r.map(function (i) { return l.values[i]; }), x, y),
                                               fill: 'none', stroke: l.colour, 'stroke-width': l.width, 'class': 'series', 'data-name': l.name }));
              });
              var item = el('span'); item.appendChild(el('i', { style: 'background:' + l.colour })); item.appendChild(document.createTextNode(l.name));
              legend.appendChild(item);
            });
            var box = el('div'); box.appendChild(s); box.appendChild(legend);
            return box;
          }
          function chart(p, totalName) {
            var lines = [{ values: p.total, colour: '#222', name: totalName, width: 2 }];
            p.charted.forEach(function (c, i) { lines.push({ values: c.series, colour: COLOURS[i % COLOURS.length], name: c.name, width: 1.5 }); });
            return drawChart(p.times, p.xticks, p.yticks, lines);
          }
          function memory(m) {
            var box = el('div', { 'class': 'memory', 'data-verdict': m.verdict });
            var head = el('div');
            head.appendChild(el('span', { 'class': 'm-' + m.verdict }, m.verdict));
            head.appendChild(document.createTextNode(': ' + m.reason));
            box.appendChild(head);
            box.appendChild(el('div', { 'class': 'summary' }, m.figures));
            if (m.advice.length) {
              var list = el('ul');
              m.advice.forEach(function (a) { list.appendChild(el('li', {}, a)); });
              box.appendChild(list);
            }
            box.appendChild(drawChart(m.times, m.xticks, m.yticks, m.lines.map(function (l) {
              return { values: l.series, colour: l.colour, name: l.name, width: 1.5 };
            })));
            return box;
          }
          function sparkline(values) {
            var W = 100, H = 22, max = Math.max.apply(null, values.concat([1]));
            var s = svg('svg', { width: W, height: H, 'class': 'sparkline' });
            var pts = values.map(function (v, i) {
              return (values.length > 1 ? i * (W - 2) / (values.length - 1) + 1 : W / 2).toFixed(1) + ',' + (H - 2 - (H - 4) * v / max).toFixed(1);
            }).join(' ');
            s.appendChild(svg('polyline', { points: pts, fill: 'none', stroke: '#1f5fa8', 'stroke-width': 1.5 }));
            return s;
          }
          function table(p) {
            var t = el('table', { 'class': 'findings' });
            var head = el('tr');
            ['#', 'verdict', 'site', 'live', 'growth', 'unreferenced', 'live over time', 'reason and stack'].forEach(function (h) { head.appendChild(el('th', {}, h)); });
            t.appendChild(head);
            var byRank = {}, inRoots = {};
            p.sites.forEach(function (site) { byRank[site.rank] = site; });
            // Roots first (named by the caller), each followed by its member sites; then the rest.
            p.roots.forEach(function (root) {
              var row = el('tr', { 'class': 'root', 'data-caller': root.caller });
              row.appendChild(el('td', { 'class': 'n' }, root.label));
              row.appendChild(el('td', { 'class': 'v-growing' }, 'growing'));
              row.appendChild(el('td', { 'class': 'caller' }, root.caller));
              row.appendChild(el('td', { 'class': 'n' }, root.live));
              row.appendChild(el('td', { 'class': 'n' }, root.growth));
              row.appendChild(el('td', { 'class': 'n' }, root.unreferenced));
              var spark = el('td'); spark.appendChild(sparkline(root.series)); row.appendChild(spark);
              row.appendChild(el('td', {}, root.reason));
              t.appendChild(row);
              root.members.forEach(function (rank) {
                inRoots[rank] = true;
                if (byRank[rank]) siteRow(byRank[rank], root.label);
              });
            });
            p.sites.forEach(function (site) { if (!inRoots[site.rank]) siteRow(site, null); });
            return t;
            function siteRow(site, root) {
              var row = el('tr', root ? { 'class': 'finding member', 'data-site': site.site, 'data-root': root }
                                      : { 'class': 'finding', 'data-site': site.site });
              row.appendChild(el('td', { 'class': 'n' }, String(site.rank)));
              row.appendChild(el('td', { 'class': 'v-' + site.verdict }, site.verdict));
              row.appendChild(el('td', {}, (root ? '\\u2514 ' : '') + site.site + (site.location ? ' (' + site.location + ')' : '')));
              row.appendChild(el('td', { 'class': 'n' }, site.live));
              row.appendChild(el('td', { 'class': 'n' }, site.growth));
              row.appendChild(el('td', { 'class': 'n' }, site.unreferenced));
              var spark = el('td'); spark.appendChild(sparkline(site.series)); row.appendChild(spark);
              var details = el('details'); details.appendChild(el('summary', {}, site.reason));
              details.appendChild(el('pre', {}, site.stack.join('\\n')));
              var cell = el('td'); cell.appendChild(details); row.appendChild(cell);
              t.appendChild(row);
            }
          }
          function rootList(p) {
            var list = el('ul', { 'class': 'roots' });
            p.roots.forEach(function (root) {
              var item = el('li', { 'class': 'root-headline' });
              item.appendChild(el('b', {}, root.label + ' ' + root.headline));
              var members = el('ul');
              root.members.forEach(function (rank) {
                var site = p.sites.filter(function (s) { return s.rank === rank; })[0];
                members.appendChild(el('li', {}, '#' + rank + ' ' + (site ? site.site + (site.location ? ' (' + site.location + ')' : '') : '')));
              });
              item.appendChild(members);
              list.appendChild(item);
            });
            return list;
          }
          function threadTable(th) {
            var t = el('table', { 'class': 'threads' });
            var head = el('tr');
            ['verdict', 'creation site', 'running', 'never joined', 'gone', 'stacks', 'threads over time', 'reason and stack'].forEach(function (h) { head.appendChild(el('th', {}, h)); });
            t.appendChild(head);
            th.sites.forEach(function (site) {
              var row = el('tr', { 'class': 'thread-site', 'data-site': site.site });
              row.appendChild(el('td', { 'class': 'v-' + site.verdict }, site.verdict));
              row.appendChild(el('td', {}, site.site));
              [site.running, site.unjoined, site.gone, site.stacks].forEach(function (v) { row.appendChild(el('td', { 'class': 'n' }, v)); });
              var spark = el('td'); spark.appendChild(sparkline(site.series)); row.appendChild(spark);
              var details = el('details'); details.appendChild(el('summary', {}, site.reason));
              details.appendChild(el('pre', {}, site.stack.join('\\n')));
              var cell = el('td'); cell.appendChild(details); row.appendChild(cell);
              t.appendChild(row);
            });
            return t;
          }
          var root = document.getElementById('processes');
          data.forEach(function (p) {
            var section = el('section', { 'class': 'process', 'data-pid': String(p.pid) });
            section.appendChild(el('h2', {}, p.command));
            section.appendChild(el('div', { 'class': 'summary' }, p.summary));
            if (p.note) section.appendChild(el('div', { 'class': 'note' }, p.note));
            if (p.memory) {
              section.appendChild(el('h3', {}, 'Memory: RSS, what the allocator holds and the live heap'));
              section.appendChild(memory(p.memory));
            }
            if (p.roots.length) {
              section.appendChild(el('h3', {}, 'Leak roots: sites growing together under one caller'));
              section.appendChild(rootList(p));
            }
            section.appendChild(el('h3', {}, 'Estimated live heap over time'));
            section.appendChild(chart(p, 'total live heap'));
            section.appendChild(el('h3', {}, 'Findings'));
            section.appendChild(p.sites.length ? table(p) : el('div', { 'class': 'summary' }, 'no sites to list'));
            if (p.threads) {
              section.appendChild(el('h3', {}, 'Threads held over time (running and never joined), by creation site'));
              section.appendChild(el('div', { 'class': 'summary' }, p.threads.summary));
              section.appendChild(chart(p.threads, 'all threads held'));
              section.appendChild(threadTable(p.threads));
            }
            section.appendChild(el('h3', {}, 'Flame graph of the last epoch (click to zoom, hover for figures)'));
            var frame = el('iframe', { 'class': 'flame', title: 'flame graph' });
            frame.srcdoc = '<!DOCTYPE html><html><body style="margin:0">' + p.flame + '</body></html>';
            frame.addEventListener('load', function () {
              var body = frame.contentDocument && frame.contentDocument.body;
              if (body) frame.style.height = (body.scrollHeight + 8) + 'px';
            });
            section.appendChild(frame);
            root.appendChild(section);
          });
          document.body.setAttribute('data-drawn', String(data.length));
        })();
        </script>
        </body></html>

        """
}

private extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
