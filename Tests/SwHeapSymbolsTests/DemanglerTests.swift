import XCTest
@testable import SwHeapSymbols

final class DemanglerTests: XCTestCase {
    func testRustLegacyNamesLoseEscapesAndHashes() {
        XCTAssertEqual(Demangler.demangle("_ZN5alloc7raw_vec20RawVecInner$LT$A$GT$15try_allocate_in17hd334e2e04246c40fE"),
                       "alloc::raw_vec::RawVecInner<A>::try_allocate_in")
        XCTAssertEqual(Demangler.demangle("_ZN63_$LT$u8$u20$as$u20$alloc..vec..spec_from_elem..SpecFromElem$GT$9from_elem17hff2b18258218b71aE"),
                       "<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem")
        XCTAssertEqual(Demangler.demangle("_ZN4sess12open_session17h91de62a783772926E"), "sess::open_session")
    }

    func testRustV0NamesWithoutCrateHashes() {
        XCTAssertEqual(Demangler.demangle("_RNvXs_NtCslNYArtu3iFV_5alloc5allocNtB4_6GlobalNtNtCsgEmfK2I1SDS_4core5alloc9Allocator8allocate"),
                       "<alloc::alloc::Global as core::alloc::Allocator>::allocate")
        XCTAssertEqual(Demangler.demangle("_RNvMCsf631P8THqRd_8sessionsNtB2_8Registry12open_session"),
                       "<sessions::Registry>::open_session")
    }

    func testCxxTemplatesThatLLVMLeftRaw() {
        XCTAssertEqual(Demangler.demangle("_ZSt11make_sharedI7SessionJS0_EESt10shared_ptrIT_EDpOT0_"),
                       "std::shared_ptr<Session> std::make_shared<Session, Session>(Session&&)")
        XCTAssertEqual(FunctionName.withoutArguments(Demangler.demangle("_ZSt11make_sharedI7SessionJS0_EESt10shared_ptrIT_EDpOT0_")!),
                       "std::make_shared<Session, Session>")
    }

    func testPlainAndSwiftNames() {
        XCTAssertNil(Demangler.demangle("malloc"))
        XCTAssertNil(Demangler.demangle("_Zgarbage"))
        XCTAssertEqual(Demangler.demangle("$s4main5CacheC6insertyySSF"), SwiftDemangler.demangle("$s4main5CacheC6insertyySSF"))
    }

    func testRustSymbolsAreRecognised() {
        XCTAssertTrue(Demangler.isRustSymbol("_ZN4sess12open_session17h91de62a783772926E"))
        XCTAssertTrue(Demangler.isRustSymbol("_ZN4sess12open_session17h91de62a783772926E.llvm.123"))
        XCTAssertTrue(Demangler.isRustSymbol("_RNvCs7EBxf9JA7ns_4sess12open_session"))
        XCTAssertFalse(Demangler.isRustSymbol("_ZN4core5Cache3putEv"), "C++ in a namespace `core`")
        XCTAssertFalse(Demangler.isRustSymbol("main"))
    }

    func testCompilerClonesKeepTheFunctionName() {
        XCTAssertEqual(FunctionName.withoutArguments("Cache::put(int) [clone .isra.0] [clone .cold]"), "Cache::put")
    }
}
