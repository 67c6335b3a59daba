// A Swift retain cycle leak: every step builds a parent/child pair that hold each other
// strongly and drops both, so nothing reaches them and ARC never frees them. A bounded
// dictionary cache alongside levels off.
import Glibc

final class Parent {
    var child: Child?
    var payload = [UInt8](repeating: 1, count: 200)
}

final class Child {
    var parent: Parent?
    var payload = [UInt8](repeating: 2, count: 200)
}

@inline(never)
func makeCycle() {
    let parent = Parent()
    let child = Child()
    parent.child = child
    child.parent = parent // the cycle: neither count reaches zero
}

var cache: [Int: [UInt8]] = [:]

@inline(never)
func rememberInCache(_ key: Int) {
    cache[key % 32] = [UInt8](repeating: UInt8(key & 0xff), count: 1024)
}

let steps = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 40 : 40
let pauseMs = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 25 : 25
// Cycles per step (argv[3]): enough to sample well at the default rate in a few seconds.
let cyclesPerStep = CommandLine.arguments.count > 3 ? Int(CommandLine.arguments[3]) ?? 8 : 8
for step in 0..<steps {
    for _ in 0..<cyclesPerStep { makeCycle() }
    for k in 0..<8 { rememberInCache(step * 8 + k) }
    usleep(UInt32(pauseMs * 1000))
}
print("cycles: \(steps) steps")
