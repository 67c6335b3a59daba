import XCTest
@testable import SwHeapSymbols

final class SuppressionTests: XCTestCase {
    func stack(_ functions: [String], file: String = "", module: String = "") -> StackNames {
        StackNames(frames: functions.map { FrameName(function: $0, file: file, modulePath: module) })
    }

    func testParsesLeakSanitizerFormat() throws {
        let text = """
            # third-party code we do not own
            leak:libcrypto.so

            leak:^MyCache::*$
              leak:third_party/*.cc   \r
            """
        let rules = try Suppressions.parse(text, source: "app.supp")
        XCTAssertEqual(rules.rules.map(\.pattern), ["libcrypto.so", "^MyCache::*$", "third_party/*.cc"])
        XCTAssertEqual(rules.rules.map(\.origin), ["app.supp:2", "app.supp:4", "app.supp:5"])
    }

    func testRejectsOtherTypesWithTheLine() {
        XCTAssertThrowsError(try Suppressions.parse("leak:x\nrace:y\n", source: "s.supp")) { error in
            XCTAssertEqual((error as? SuppressionError)?.line, 2)
            XCTAssertTrue("\(error)".hasPrefix("s.supp:2: unknown suppression type \"race\""))
        }
        XCTAssertThrowsError(try Suppressions.parse("just words", source: "s.supp"))
        XCTAssertThrowsError(try Suppressions.parse("leak:", source: "s.supp"))
    }

    func testMissingFileSaysSo() {
        XCTAssertThrowsError(try Suppressions.load(path: "/nonexistent/x.supp")) { error in
            XCTAssertTrue("\(error)".contains("cannot read suppressions file"), "\(error)")
        }
    }

    func testTemplateMatching() {
        let rule = { Suppression(pattern: $0, origin: "t") }
        XCTAssertTrue(rule("Cache").matches("MyCache::put"))
        XCTAssertFalse(rule("^Cache").matches("MyCache::put"))
        XCTAssertTrue(rule("^My*put$").matches("MyCache::put"))
        XCTAssertFalse(rule("^My*put$").matches("MyCache::put2"))
        XCTAssertTrue(rule("put$").matches("MyCache::put"))
        XCTAssertTrue(rule("a*b*c").matches("xxaYYbZZc"))
        XCTAssertFalse(rule("a*b*c").matches("xxcYYbZZa"))
        XCTAssertTrue(rule("^exact$").matches("exact"))
        XCTAssertFalse(rule("^exact$").matches("exactly"))
    }

    func testMatchesFunctionsModulesAndFilesOfAnyFrame() throws {
        let rules = try Suppressions.parse("leak:libfoo.so\nleak:vendor/*.c\nleak:init_tables", source: "s")
        XCTAssertNotNil(rules.match(stack(["malloc", "x"], module: "/opt/lib/libfoo.so.1")))
        XCTAssertNotNil(rules.match(stack(["malloc", "x"], file: "/src/vendor/zlib.c")))
        XCTAssertNotNil(rules.match(stack(["malloc", "helper", "init_tables", "main"])))
        XCTAssertNil(rules.match(stack(["malloc", "leak_slowly", "main"])))
    }

    func testBuiltInsCoverStartUpButNotEverything() {
        let builtIn = Suppressions.builtIn
        XCTAssertNotNil(builtIn.match(stack(["malloc", "_dl_allocate_tls", "pthread_create", "main"])))
        XCTAssertNotNil(builtIn.match(stack(["malloc", "_IO_file_doallocate", "_IO_doallocbuf", "puts", "main"])))
        XCTAssertNotNil(builtIn.match(stack(["operator new(unsigned long)", "std::ios_base::Init::Init()", "_dl_init"])))
        XCTAssertNotNil(builtIn.match(stack(["malloc", "__cxa_get_globals", "__cxa_throw"])))
        XCTAssertNotNil(builtIn.match(stack(["malloc", "__gconv_open", "iconv_open", "main"])))
        XCTAssertNotNil(builtIn.match(stack(["malloc", "__tzfile_read", "tzset_internal", "localtime", "main"])))
        // Every stack passes through __libc_start_main; that must not suppress the program's leaks.
        XCTAssertNil(builtIn.match(stack(["malloc", "leak_slowly", "main", "__libc_start_call_main", "__libc_start_main", "_start"])))
        // Built-ins match function names only, not a user's file that happens to contain a word.
        XCTAssertNil(builtIn.match(stack(["malloc", "parse"], file: "/src/tzset_wrapper.c")))
    }
}
