// Flame graph building blocks on hand-made stacks: merging by name, growth widths, collapsed
// stack text, and names that would break XML or the folded format.

@testable import SwHeapOutput
import XCTest

final class FlameGraphRenderingTests: XCTestCase {
    private func stack(_ names: [String], _ value: Double, base: Double = 0) -> FlameStack {
        FlameStack(frames: names.map { FlameFrame(name: $0, module: "app", verdict: nil) }, value: value, baseValue: base)
    }

    func testTreeMergesByNameAndSumsWidths() {
        let root = FlameTree.build([stack(["main", "a"], 30), stack(["main", "b"], 10), stack(["main", "a"], 5)],
                                   differential: false, rootName: "all")
        XCTAssertEqual(root.total, 45)
        XCTAssertEqual(root.children.map(\.frame.name), ["main"])
        XCTAssertEqual(root.children[0].children.map(\.frame.name), ["a", "b"])
        XCTAssertEqual(root.children[0].children.map(\.total), [35, 10])
        XCTAssertEqual(root.depth, 3)
    }

    func testGrowthWidthsIgnoreShrinkingStacks() {
        let root = FlameTree.build([stack(["main", "leak"], 100, base: 20), stack(["main", "cache"], 10, base: 50)],
                                   differential: true, rootName: "all")
        XCTAssertEqual(root.total, 80)
        XCTAssertEqual(root.children[0].children.map(\.frame.name), ["leak"])
    }

    func testFoldedTextSumsDuplicatesAndSanitisesNames() {
        let text = FoldedStacks.render([stack(["main", "f;g"], 10.4), stack(["main", "f;g"], 5), stack(["main", "gone"], 0)],
                                       differential: false)
        XCTAssertEqual(text, "main;f:g 15\n")
        let diff = FoldedStacks.render([stack(["main", "x"], 7, base: 3)], differential: true)
        XCTAssertEqual(diff, "main;x 3 7\n")
    }

    func testSVGEscapesNamesAndCutsLabels() {
        let graph = FlameGraphSVG(title: "t<1>", subtitle: "s", value: .inuseSpace, differential: false)
        let svg = graph.render(FlameTree.build([stack(["main", "std::map<int, \"x\"> & co"], 1024)], differential: false, rootName: "all"))
        XCTAssertTrue(svg.contains("std::map&lt;int, &quot;x&quot;&gt; &amp; co"), svg)
        XCTAssertTrue(svg.contains("t&lt;1&gt;"))
        XCTAssertFalse(svg.contains("<int"))
        XCTAssertEqual(graph.label("abcdefghij", width: 48), "abcd..")  // (48 - 6) / 7 = 6 characters
        XCTAssertEqual(graph.label("abcdefghij", width: 10), "")
        XCTAssertEqual(graph.label("abc", width: 200), "abc")
    }

    func testDetailsNameValueShareAndVerdict() {
        let graph = FlameGraphSVG(title: "", subtitle: "", value: .inuseSpace, differential: false)
        var node = FlameNode(frame: FlameFrame(name: "leak", module: "app", verdict: .growing))
        node.total = 1536
        XCTAssertEqual(graph.details(node, share: 0.25), "leak (app): 1.5 KiB, 25.0%, growing site")
        let objects = FlameGraphSVG(title: "", subtitle: "", value: .inuseObjects, differential: true)
        node.total = 12345
        XCTAssertEqual(objects.details(node, share: 1), "leak (app): +12,345 since the base, 100.0%, growing site")
    }
}
