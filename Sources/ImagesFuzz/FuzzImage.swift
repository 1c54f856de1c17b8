import Images

/// Feeds arbitrary bytes to the image reader: as a file of whatever kind its magic
/// says, and as every kind in turn (forced, as callers with `expect:` do). The only
/// acceptable outcomes are entries or an ImageError; a trap or a leak is a bug.
public func fuzzImageBytes(_ bytes: [UInt8]) {
    var limits = ImageLimits()
    limits.maxEntry = 1 << 20
    limits.maxPayload = 1 << 20
    drain(try? ImageReader(bytes: bytes, name: "fuzz.img", limits: limits))
    // The first byte picks a kind, the rest is its body after a valid header.
    guard let pick = bytes.first else { return }
    let kinds = ImageKind.all.filter { $0.message != nil }
    let kind = kinds[Int(pick) % kinds.count]
    var framed: [UInt8] = []
    func le32(_ v: UInt32) { framed += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
    switch kind.header {
    case .common: le32(Magic.imgCommon); le32(kind.magic)
    case .service: le32(Magic.imgService); le32(kind.magic)
    case .bare: le32(kind.magic)
    case .raw: return
    }
    framed += bytes.dropFirst()
    drain(try? ImageReader(bytes: framed, name: "fuzz.img", expect: kind, limits: limits))
}

private func drain(_ reader: ImageReader?) {
    guard let reader else { return }
    var n = 0
    while n < 100_000, let e = try? reader.nextEntry() {
        // Re-encode what decoded: must not trap either.
        _ = try? e.message.serializedBytes() as [UInt8]
        n += 1
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    fuzzImageBytes(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
