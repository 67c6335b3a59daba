// A map over 0..<count spread across all cores, for work whose items are independent.

import Dispatch

/// Runs `body` for 0..<count on all cores and returns the results in order.
public func concurrentMap<T: Sendable>(count: Int, _ body: @Sendable (Int) -> T) -> [T] {
    let slots = ConcurrentSlots<T>(count: count)
    DispatchQueue.concurrentPerform(iterations: count) { i in slots.store(body(i), at: i) }
    return slots.take()
}

/// Fixed slots, each written by exactly one worker and read after all of them finished.
private final class ConcurrentSlots<T>: @unchecked Sendable {
    private let buffer: UnsafeMutableBufferPointer<T?>

    init(count: Int) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: nil)
    }

    deinit {
        buffer.deinitialize()
        buffer.deallocate()
    }

    func store(_ value: T, at index: Int) { buffer[index] = value }
    func take() -> [T] { buffer.map { $0! } }
}
