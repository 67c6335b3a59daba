import Foundation
import XCTest
@testable import SwHeapSymbols

final class FrameClassifierTests: XCTestCase {
    let classifier = FrameClassifier()

    private func kind(_ function: String, _ systemName: String = "", module: String = "/work/app", file: String = "") -> FrameKind {
        classifier.kind(of: SymbolizedFrame(function: function, systemName: systemName, file: file), modulePath: module)
    }

    func testRuntimeLibrariesAreNeverTheSite() {
        XCTAssertEqual(kind("anything", module: "/usr/lib/x86_64-linux-gnu/libc.so.6"), .cRuntime)
        XCTAssertEqual(kind("anything", module: "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"), .cxxRuntime)
        XCTAssertEqual(kind("anything", module: "/opt/swift/usr/lib/swift/linux/libswiftCore.so"), .swiftRuntime)
        XCTAssertEqual(kind("anything", module: "/work/lib/libswheap.so"), .profiler)
        XCTAssertEqual(kind("anything", module: "/usr/lib/libjemalloc.so.2"), .allocator)
        XCTAssertEqual(kind("anything", module: "/usr/lib/libcurl.so.4"), .user)
    }

    func testNamesOfRuntimeCodeInsideTheProgram() {
        XCTAssertEqual(kind("malloc"), .allocator)
        XCTAssertEqual(kind("__libc_malloc"), .allocator)
        XCTAssertEqual(kind("strdup"), .cRuntime)
        XCTAssertEqual(kind("operator new(unsigned long)"), .cxxRuntime)
        XCTAssertEqual(kind("std::__new_allocator<int>::allocate(unsigned long, void const*)"), .cxxRuntime)
        XCTAssertEqual(kind("__gnu_cxx::new_allocator<int>::allocate(unsigned long, void const*)"), .cxxRuntime)
        XCTAssertEqual(kind("void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)"), .cxxRuntime)
        XCTAssertEqual(kind("swift_allocObject"), .swiftRuntime)
        XCTAssertEqual(kind("swift_slowAlloc"), .swiftRuntime)
        XCTAssertEqual(kind("generic specialization <Swift.Int> of Swift.Array._createNewBuffer(bufferIsUnique: Swift.Bool, minimumCapacity: Swift.Int, growForAppend: Swift.Bool) -> ()",
                            "$sSa16_createNewBuffer14bufferIsUnique15minimumCapacity13growForAppendySb_SiSbtFSi_Tg5"), .swiftRuntime)
        XCTAssertEqual(kind("Swift._StringGuts.grow(Swift.Int) -> ()", "$ss11_StringGutsV4growyySiF"), .swiftRuntime)
    }

    func testUserCodeStaysUser() {
        XCTAssertEqual(kind("make_record"), .user)
        XCTAssertEqual(kind("shop::Basket::grow(int)"), .user)
        XCTAssertEqual(kind("(anonymous namespace)::helper(std::vector<int, std::allocator<int> >&)"), .user)
        XCTAssertEqual(kind("std_like_name"), .user)
        XCTAssertEqual(kind("main.Cache.insert(Swift.String) -> ()", "$s4main5CacheC6insertyySSF"), .user)
        XCTAssertEqual(kind("(extension in main):Swift.Array.grow() -> ()", "$sSa4mainE4growyyF"), .user)
        XCTAssertEqual(kind("malloc_wrapper_of_mine"), .user)
    }

    func testRustStandardLibraryFramesAreRuntime() {
        let legacyHash = "17h0123456789abcdefE"
        XCTAssertEqual(kind("alloc::alloc::alloc", "_RNvNtCslNYArtu3iFV_5alloc5alloc5alloc"), .rustRuntime)
        XCTAssertEqual(kind("<alloc::alloc::Global as core::alloc::Allocator>::allocate",
                            "_RNvXs_NtCslNYArtu3iFV_5alloc5allocNtB4_6GlobalNtNtCsgEmfK2I1SDS_4core5alloc9Allocator8allocate"), .rustRuntime)
        XCTAssertEqual(kind("alloc::raw_vec::RawVecInner<A>::try_allocate_in", "_ZN5alloc7raw_vec3foo" + legacyHash), .rustRuntime)
        XCTAssertEqual(kind("alloc::vec::from_elem", "_ZN5alloc3vec9from_elem" + legacyHash), .rustRuntime)
        XCTAssertEqual(kind("<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem", "_ZN3foo" + legacyHash), .rustRuntime)
        XCTAssertEqual(kind("hashbrown::raw::RawTable<T,A>::reserve_rehash", "_ZN9hashbrown3foo" + legacyHash), .rustRuntime)
        XCTAssertEqual(kind("std::collections::hash::map::HashMap<K,V,S>::insert", "_ZN3std3foo" + legacyHash), .rustRuntime)
        XCTAssertEqual(kind("<alloc::vec::Vec<sessions::Session> as core::clone::Clone>::clone", "_ZN3foo" + legacyHash), .rustRuntime)
        XCTAssertEqual(kind("__rust_alloc"), .rustRuntime)
        XCTAssertEqual(kind("alloc::alloc::exchange_malloc", file: "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/alloc/src/alloc.rs"),
                       .rustRuntime, "an inlined frame without a linkage name: known by its file")
    }

    func testRustProgramFramesStayUser() {
        let legacyHash = "17h0123456789abcdefE"
        XCTAssertEqual(kind("sessions::Registry::open_session", "_ZN8sessions8Registry12open_session" + legacyHash), .user)
        XCTAssertEqual(kind("<sessions::Registry>::open_session", "_RNvMCsf631P8THqRd_8sessionsNtB2_8Registry12open_session"), .user)
        XCTAssertEqual(kind("<sessions::Session as core::clone::Clone>::clone", "_ZN3foo" + legacyHash), .user, "the program's impl")
        XCTAssertEqual(kind("<alloc::string::String as sessions::Render>::render", "_ZN3foo" + legacyHash), .user)
        XCTAssertEqual(kind("core::Cache::put(int)", "_ZN4core5Cache3putEi"), .user, "C++ in a namespace `core`")
    }

    func testFirstUserFrameSkipsInlinedRuntimeFrames() {
        func location(_ frames: [String], module: String) -> SymbolizedLocation {
            SymbolizedLocation(address: 1, moduleIndex: 0, modulePath: module, moduleOffset: 0,
                               frames: frames.map { SymbolizedFrame(function: $0) }, hasFunctionName: true, hasLineNumbers: false)
        }
        let stack = [
            location(["operator new(unsigned long)"], module: "/usr/lib/libstdc++.so.6"),
            location(["std::__new_allocator<int>::allocate(unsigned long, void const*)", "shop::Basket::grow(int)"], module: "/app"),
            location(["main"], module: "/app"),
        ]
        XCTAssertEqual(classifier.firstUserFrame(in: stack)?.location, 1)
        XCTAssertEqual(classifier.firstUserFrame(in: stack)?.frame, 1)
        XCTAssertEqual(classifier.siteFrame(in: stack)?.function, "shop::Basket::grow(int)")
        XCTAssertNil(classifier.firstUserFrame(in: [stack[0]]))
        XCTAssertEqual(classifier.siteFrame(in: [stack[0]])?.function, "operator new(unsigned long)")
    }

    /// pprof matches `^(drop_frames)$` against the name cut at its first "(".
    private func dropped(_ name: String) throws -> Bool {
        let regex = try NSRegularExpression(pattern: "^(?:" + FrameClassifier.dropFramesPattern + ")$")
        var simplified = name
        if let paren = name.firstIndex(of: "("), paren != name.startIndex,
           !name[paren...].hasPrefix("(anonymous namespace)") {
            simplified = String(name[..<paren])
        }
        return regex.firstMatch(in: simplified, range: NSRange(simplified.startIndex..., in: simplified)) != nil
    }

    func testDropFramesCoversAllocatorEntryPointsOnly() throws {
        for name in ["malloc", "calloc", "__libc_malloc", "strdup", "operator new(unsigned long)", "operator new[](unsigned long)",
                     "std::__new_allocator<int>::allocate(unsigned long, void const*)",
                     "void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(int const&)",
                     // as pprof simplifies them before matching (Name == SystemName)
                     "std::__new_allocator::allocate", "void std::vector::_M_realloc_insert",
                     "swift_allocObject", "swift_slowAlloc",
                     "generic specialization <Swift.Int> of Swift.Array._createNewBuffer(bufferIsUnique: Swift.Bool) -> ()",
                     "Swift._ContiguousArrayBuffer.init(_uninitializedCount: Swift.Int, minimumCapacity: Swift.Int) -> Swift._ContiguousArrayBuffer<A>",
                     "Swift._StringGuts.grow(Swift.Int) -> ()"] {
            XCTAssertTrue(try dropped(name), name)
        }
        // Frames that call back into user code must survive, or pprof would drop the user's frames.
        for name in ["main", "make_record", "malloc_wrapper_of_mine", "std::thread::_State_impl<int>::_M_run()",
                     "Swift.Array.map<A>((A) throws -> A1) throws -> [A1]", "std::sort<int*>(int*, int*)",
                     "shop::Basket::grow(int)", "main.Cache.insert(Swift.String) -> ()"] {
            XCTAssertFalse(try dropped(name), name)
        }
    }
}
