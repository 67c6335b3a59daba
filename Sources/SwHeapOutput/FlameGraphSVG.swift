// One self-contained, interactive flame graph as SVG: no network, no external script or font.
// Hovering a frame shows its name, value and share; clicking zooms into it (click the root or
// "Reset zoom" to go back); "Search" highlights frames whose name matches a regular expression
// and shows their share; `#zoom=NAME` and `#search=REGEX` in the URL open it that way. Root at
// the bottom, as FlameGraph draws it.
//
// Colours: by module (a warm hue per module file name), except the site frame of a suspect,
// red for growing and purple for leaked at exit. A differential graph (growth between two
// epochs) shades every frame red by its share of the growth.

import SwHeapStore

public struct FlameGraphSVG: Sendable {
    public var title: String
    public var subtitle: String
    public var value: FlameValue
    public var differential: Bool

    public init(title: String, subtitle: String, value: FlameValue, differential: Bool) {
        self.title = title; self.subtitle = subtitle; self.value = value; self.differential = differential
    }

    /// The graph of one process at an epoch (or its growth since a base), titled and
    /// subtitled the same way wherever it appears (the flamegraph command, the HTML report).
    public static func heap(_ process: ProcessHeap, stacks: [FlameStack], epochIndex: Int, baseIndex: Int?,
                            value: FlameValue) -> String {
        let view = Self.view(process, epochIndex: epochIndex, baseIndex: baseIndex)
        let program = process.commandLine.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "?"
        let graph = FlameGraphSVG(
            title: "\(value.rawValue) of \(program) (pid \(process.pid)), \(view)",
            subtitle: process.rate == 1 ? "every allocation recorded" : "sampled every \(process.rate) bytes on average; estimates",
            value: value, differential: baseIndex != nil)
        return graph.render(FlameTree.build(stacks, differential: baseIndex != nil, rootName: "all"))
    }

    /// "epoch 9" or "growth from epoch 2 to 9".
    public static func view(_ process: ProcessHeap, epochIndex: Int, baseIndex: Int?) -> String {
        let epochNumber = process.epochs[epochIndex].epoch
        return baseIndex.map { "growth from epoch \(process.epochs[$0].epoch) to \(epochNumber)" } ?? "epoch \(epochNumber)"
    }

    static let width = 1200.0, frameHeight = 16.0, top = 64.0, bottom = 28.0, side = 10.0
    /// Frames narrower than this many pixels are not drawn (nor their children).
    static let minimumPixels = 0.1

    public func render(_ root: FlameNode) -> String {
        let depth = root.depth
        let height = Self.top + Double(depth) * Self.frameHeight + Self.bottom
        var out = """
            <?xml version="1.0" standalone="no"?>
            <svg version="1.1" width="\(Int(Self.width))" height="\(Int(height))" viewBox="0 0 \(Int(Self.width)) \(Int(height))" \
            xmlns="http://www.w3.org/2000/svg" data-depth="\(depth)">
            <style>
            text { font-family: monospace; font-size: 11px; fill: #000; }
            .title { font-size: 16px; text-anchor: middle; }
            .subtitle { font-size: 12px; text-anchor: middle; fill: #555; }
            .button { cursor: pointer; fill: #1f5fa8; }
            g.f { cursor: pointer; }
            g.f:hover rect { stroke: #000; stroke-width: 0.5; }
            g.parent rect { opacity: 0.5; }
            </style>
            <rect x="0" y="0" width="100%" height="100%" fill="#fdfcf8"/>
            <text class="title" x="\(Int(Self.width / 2))" y="22">\(escaped(title))</text>
            <text class="subtitle" x="\(Int(Self.width / 2))" y="40">\(escaped(subtitle))</text>
            <text id="reset" class="button" x="\(Int(Self.side))" y="22" visibility="hidden">Reset zoom</text>
            <text id="search" class="button" x="\(Int(Self.width - Self.side - 60))" y="22">Search</text>
            <text id="matched" x="\(Int(Self.width - Self.side - 160))" y="\(Int(height - 8))"></text>
            <text id="details" x="\(Int(Self.side))" y="\(Int(height - 8))"> </text>
            <g id="frames">\n
            """
        draw(root, x: 0, depth: 0, maxDepth: depth, root: root, into: &out)
        out += "</g>\n<script type=\"text/ecmascript\"><![CDATA[\n" + Self.script + "]]></script>\n</svg>\n"
        return out
    }

    private func draw(_ node: FlameNode, x: Double, depth: Int, maxDepth: Int, root: FlameNode, into out: inout String) {
        guard root.total > 0 else { return }
        let fraction = node.total / root.total
        let usable = Self.width - 2 * Self.side
        guard fraction * usable >= Self.minimumPixels else { return }
        let y = Self.top + Double(maxDepth - 1 - depth) * Self.frameHeight
        let px = Self.side + x * usable, pw = fraction * usable
        let info = details(node, share: fraction)
        out += "<g class=\"f\" data-x=\"\(x)\" data-w=\"\(fraction)\" data-d=\"\(depth)\" data-n=\"\(escaped(node.frame.name))\" data-i=\"\(escaped(info))\">"
        out += "<title>\(escaped(info))</title>"
        out += "<rect x=\"\(rounded(px))\" y=\"\(rounded(y))\" width=\"\(rounded(pw))\" height=\"\(Int(Self.frameHeight - 1))\" fill=\"\(colour(node, share: fraction))\" rx=\"2\"/>"
        out += "<text x=\"\(rounded(px + 3))\" y=\"\(rounded(y + Self.frameHeight - 4.5))\">\(escaped(label(node.frame.name, width: pw)))</text></g>\n"
        var childX = x
        for child in node.children {
            draw(child, x: childX, depth: depth + 1, maxDepth: maxDepth, root: root, into: &out)
            childX += child.total / root.total
        }
    }

    /// "name (module): 1.2 MiB, 34.5%" (growth view: "+1.2 MiB of growth").
    func details(_ node: FlameNode, share: Double) -> String {
        let amount = value.isBytes ? Quantity.bytes(node.total) : Quantity.count(node.total)
        let module = node.frame.module.isEmpty ? "" : " (\(node.frame.module))"
        let verdict = node.frame.verdict.map { ", \($0.rawValue) site" } ?? ""
        let what = differential ? "+\(amount) since the base" : amount
        return "\(node.frame.name)\(module): \(what), \(Quantity.percentTenths(share))\(verdict)"
    }

    func colour(_ node: FlameNode, share: Double) -> String {
        if differential {
            let strength = min(1, max(0, share))  // share of all growth
            return "rgb(\(Int(255 - 35 * strength)),\(Int(210 - 170 * strength)),\(Int(200 - 170 * strength)))"
        }
        switch node.frame.verdict {
        case .growing?: return "rgb(214,39,40)"
        case .leakedAtExit?: return "rgb(148,103,189)"
        default: break
        }
        let hash = Self.fnv1a(node.frame.module.isEmpty ? node.frame.name : node.frame.module)
        let hue = 25 + Int(hash % 35)            // orange to yellow: red stays for suspects
        let lightness = 55 + Int(hash / 35 % 15)
        return "hsl(\(hue),85%,\(lightness)%)"
    }

    /// As many characters as fit at about 7 px each, ".." marking a cut; nothing below 3.
    func label(_ name: String, width: Double) -> String {
        let fit = Int((width - 6) / 7)
        if fit < 3 { return "" }
        return name.count <= fit ? name : String(name.prefix(fit - 2)) + ".."
    }

    private func rounded(_ value: Double) -> String { Quantity.hundredths(value) }

    func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters are not allowed in XML 1.0 text.
                if let ascii = character.asciiValue, ascii < 0x20 { out += " " } else { out.append(character) }
            }
        }
        return out
    }

    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// Zoom, reset, search and hover details. Frame geometry is kept as fractions of the
    /// root (data-x, data-w) and depth (data-d), so zooming only rescales.
    static let script = """
        (function () {
          var W = \(width), SIDE = \(side), USABLE = W - 2 * SIDE;
          var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
          var details = document.getElementById('details'), matched = document.getElementById('matched');
          var reset = document.getElementById('reset');
          function num(g, k) { return parseFloat(g.getAttribute('data-' + k)); }
          function place(g, x, w) {
            var r = g.querySelector('rect'), t = g.querySelector('text'), px = SIDE + x * USABLE, pw = w * USABLE;
            r.setAttribute('x', px.toFixed(2)); r.setAttribute('width', pw.toFixed(2));
            t.setAttribute('x', (px + 3).toFixed(2));
            var name = g.getAttribute('data-n'), fit = Math.floor((pw - 6) / 7);
            t.textContent = fit < 3 ? '' : (name.length <= fit ? name : name.slice(0, fit - 2) + '..');
          }
          function zoom(target) {
            var zx = num(target, 'x'), zw = num(target, 'w'), zd = num(target, 'd'), eps = 1e-9;
            frames.forEach(function (g) {
              var x = num(g, 'x'), w = num(g, 'w'), d = num(g, 'd');
              var ancestor = d <= zd && x <= zx + eps && x + w >= zx + zw - eps;
              var inside = d > zd && x >= zx - eps && x + w <= zx + zw + eps;
              if (ancestor) { g.style.display = ''; place(g, 0, 1); g.classList.toggle('parent', d < zd); }
              else if (inside) { g.style.display = ''; place(g, (x - zx) / zw, w / zw); g.classList.remove('parent'); }
              else { g.style.display = 'none'; }
            });
            reset.setAttribute('visibility', zd > 0 ? 'visible' : 'hidden');
          }
          function unzoom() {
            frames.forEach(function (g) { g.style.display = ''; g.classList.remove('parent'); place(g, num(g, 'x'), num(g, 'w')); });
            reset.setAttribute('visibility', 'hidden');
          }
          function search(pattern) {
            var re; try { re = new RegExp(pattern); } catch (e) { matched.textContent = 'bad pattern'; return; }
            var spans = [];
            frames.forEach(function (g) {
              var r = g.querySelector('rect');
              if (!r.hasAttribute('data-fill')) r.setAttribute('data-fill', r.getAttribute('fill'));
              var hit = pattern !== '' && re.test(g.getAttribute('data-n'));
              r.setAttribute('fill', hit ? 'rgb(230,0,230)' : r.getAttribute('data-fill'));
              if (hit) spans.push([num(g, 'x'), num(g, 'x') + num(g, 'w')]);
            });
            spans.sort(function (a, b) { return a[0] - b[0]; });
            var total = 0, end = -1;
            spans.forEach(function (s) { if (s[1] > end) { total += s[1] - Math.max(s[0], end); end = s[1]; } });
            matched.textContent = pattern === '' ? '' : 'Matched: ' + (100 * total).toFixed(1) + '%';
          }
          frames.forEach(function (g) {
            g.addEventListener('click', function () { if (num(g, 'd') === 0) unzoom(); else zoom(g); });
            g.addEventListener('mouseover', function () { details.textContent = g.getAttribute('data-i'); });
            g.addEventListener('mouseout', function () { details.textContent = ' '; });
          });
          reset.addEventListener('click', unzoom);
          document.getElementById('search').addEventListener('click', function () {
            var pattern = window.prompt('Highlight frames matching (regular expression; empty clears):', '');
            if (pattern !== null) search(pattern);
          });
          // Links can open the graph zoomed or searched: #zoom=NAME, #search=REGEX (both may be given, joined by &).
          (location.hash || '').replace(/^#/, '').split('&').forEach(function (part) {
            var eq = part.indexOf('='), key = part.slice(0, eq), value = decodeURIComponent(part.slice(eq + 1));
            if (key === 'search') search(value);
            if (key === 'zoom') { var hit = frames.filter(function (g) { return g.getAttribute('data-n') === value; })[0]; if (hit) zoom(hit); }
          });
          window.swheapFlameGraph = { zoom: zoom, unzoom: unzoom, search: search };
        })();

        """
}
