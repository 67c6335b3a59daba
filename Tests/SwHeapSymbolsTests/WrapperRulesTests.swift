import XCTest
@testable import SwHeapSymbols

final class WrapperRulesTests: XCTestCase {
    /// A stack innermost first: runtime frames marked with a leading "!", one address per frame
    /// unless given as "name@address".
    private func stack(_ names: [String]) -> [WrapperRules.Frame] {
        names.enumerated().map { index, text in
            let runtime = text.hasPrefix("!")
            let parts = text.drop { $0 == "!" }.split(separator: "@")
            let address = parts.count > 1 ? UInt64(parts[1])! : UInt64(1000 * (index + 1) + text.count)
            return WrapperRules.Frame(function: String(parts[0]), address: address, isRuntime: runtime)
        }
    }

    func testAFunctionRightAboveTheAllocatorForManyCallersIsAWrapper() {
        let callers = ["createClient", "processBatch", "setKey", "loadConfig", "zstrdup"]
        var stacks = callers.map { stack(["!malloc", "zmalloc@10", $0, "main"]) }
        // zstrdup over zmalloc, for its own callers: found in the second round.
        stacks += ["setKey", "logLine", "loadConfig", "createClient"].map { stack(["!malloc", "zmalloc@10", "zstrdup@20", $0, "main"]) }
        XCTAssertEqual(WrapperRules().detect(stacks), ["zmalloc", "zstrdup"])
    }

    func testHelpersWithFewCallersOrManyAllocationsAreSites() {
        // Three callers only.
        let few = ["a", "b", "c"].map { stack(["!malloc", "make_node@10", $0, "main"]) }
        XCTAssertEqual(WrapperRules().detect(few), [])
        // Many callers, but allocating from many places of its own: it does work, not a wrapper.
        let busy = (0..<6).map { stack(["!malloc", "build_reply@\(100 + $0)", "caller\($0)", "main"]) }
        XCTAssertEqual(WrapperRules().detect(busy), [])
        // Named, or detection off.
        XCTAssertEqual(WrapperRules(detectsAutomatically: false).detect(few + busy), [])
        XCTAssertTrue(WrapperRules(names: ["make_*"]).isNamed("make_node"))
        XCTAssertFalse(WrapperRules(names: ["make_*"]).isNamed("remake_node"))
    }

    func testSiteNamesShowTheWrapperAndUnnamedFrames() {
        let wrapped = StackNames(frames: [
            FrameName(function: "malloc", isRuntime: true),
            FrameName(function: "ztrymalloc_usable_internal", isWrapper: true),
            FrameName(function: "zmalloc(unsigned long)", isWrapper: true),
            FrameName(function: "createClient(connection*)", file: "/src/networking.c", line: 120),
            FrameName(function: "main"),
        ])
        XCTAssertEqual(wrapped.siteName, "createClient (via zmalloc)")
        XCTAssertEqual(wrapped.siteLocationForTest, "networking.c:120")
        let unnamed = StackNames(frames: [
            FrameName(function: "malloc", isRuntime: true),
            FrameName(function: "libleaky.so+0x1139", modulePath: "/lib/libleaky.so"),
            FrameName(function: "libleaky.so+0x1170", modulePath: "/lib/libleaky.so"),
            FrameName(function: "leaky_step", modulePath: "/lib/libleaky.so"),
        ])
        XCTAssertEqual(unnamed.siteName, "libleaky.so+0x1139 (no symbol; called from leaky_step)")
        let onlyWrappers = StackNames(frames: [FrameName(function: "malloc", isRuntime: true),
                                               FrameName(function: "zmalloc", isWrapper: true)])
        XCTAssertEqual(onlyWrappers.siteName, "zmalloc", "a wrapper with no caller of the program's is the site")
    }

    func testSuppressionsFileNamesWrappers() throws {
        let rules = try Suppressions.parse("leak:libcrypto.so\nwrapper:zmalloc\nwrapper: g_malloc* \n", source: "app.supp")
        XCTAssertEqual(rules.rules.map(\.pattern), ["libcrypto.so"])
        XCTAssertEqual(rules.wrappers, ["zmalloc", "g_malloc*"])
        XCTAssertThrowsError(try Suppressions.parse("wrapper:\n", source: "app.supp"))
        XCTAssertEqual(WrapperRules.environmentNames(["SWHEAP_WRAPPERS": "zmalloc, xmalloc:g_malloc"]), ["zmalloc", "xmalloc", "g_malloc"])
    }
}

private extension StackNames {
    var siteLocationForTest: String? {
        guard let frame = firstUserFrame, !frame.file.isEmpty else { return nil }
        return "\(frame.file.split(separator: "/").last!):\(frame.line)"
    }
}
