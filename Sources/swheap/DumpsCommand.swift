// `swheap dumps DIR`: one line per dump, to see what a run recorded at a glance.

import ArgumentParser
import SwHeapOutput
import SwHeapStore

struct DumpsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dumps",
        abstract: "List the heap dumps in a directory, one line per epoch per process.")

    @OptionGroup var directory: DumpDirectoryArgument

    func run() throws {
        print(DumpListing.render(try HeapStore.load(directory: directory.path)), terminator: "")
    }
}
