// How much a sampled live-bytes estimate wobbles by chance. With mean sampling interval R, an
// object of s bytes is sampled with p = 1 - exp(-(s+1)/R) (the shim charges s + 1 bytes so that
// empty blocks count: Sources/CSwHeap/sampler.c) and counted as s/p bytes, so an estimate B made
// of objects of mean size s has variance about B * s * (1 - p) / p. The +1 matters: with
// 1 - exp(-s/R) one sampled 256-byte object was worth 0.996 samples, below a "1 sample" bar.
// Small objects at a large R are noisy (a 700 KiB cache of 1 KiB objects at R = 64 KiB: ±30%);
// objects much larger than R are always sampled and exact. R = 1 records everything: no noise.

import CSwHeapFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum SamplingNoise {
    /// The probability the shim samples an allocation of `size` bytes at mean interval `rate`.
    static func probability(size: Double, rate: Double) -> Double {
        sw_sample_probability(size, rate)
    }

    /// Standard deviation (bytes) of a live-bytes estimate.
    static func standardDeviation(liveBytes: Double, liveObjects: Double, rate: Double) -> Double {
        guard rate > 1, liveBytes > 0, liveObjects > 0 else { return 0 }
        let meanSize = liveBytes / liveObjects
        let p = probability(size: meanSize, rate: rate)
        guard p > 0 else { return liveBytes }
        return (liveBytes * meanSize * (1 - p) / p).squareRoot()
    }

    /// Expected number of sampled objects behind an estimate of `objects` of mean size `meanSize`.
    static func expectedSamples(objects: Double, meanSize: Double, rate: Double) -> Double {
        guard rate > 1 else { return objects }
        return objects * probability(size: meanSize, rate: rate)
    }

    /// The number of samples an estimate is worth: 1 / its squared relative error, objects·p/(1−p).
    /// Small objects: the sampled objects themselves; objects much larger than R: nearly exact.
    static func effectiveSamples(objects: Double, meanSize: Double, rate: Double) -> Double {
        guard rate > 1 else { return objects }
        let p = probability(size: meanSize, rate: rate)
        return p < 1 ? min(1e12, objects * p / (1 - p)) : 1e12
    }
}
