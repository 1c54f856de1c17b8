import Foundation
import Images
import SwiftProtobuf

/// Bytes fields crit prints as quoted-printable text rather than base64.
let quotedPrintableFields: [String: Set<String>] = ["criu.UnixSkEntry": ["name"]]

/// Per-message field tables, indexed by number, built once.
final class SchemaCache {
    private var byNumber: [String: [Int: ProtoField]] = [:]

    func fields(_ messageName: String) -> [Int: ProtoField] {
        if let f = byNumber[messageName] { return f }
        var m: [Int: ProtoField] = [:]
        for f in ProtoSchema.messages[messageName] ?? [] { m[f.number] = f }
        byNumber[messageName] = m
        return m
    }
}

/// Turns a message into a JSON tree the way CRIU's crit does: proto field names,
/// set fields only in field-number order, enums by name, bytes as base64 lines.
struct JSONEmitter {
    let pretty: Bool
    let cache: SchemaCache

    func tree(_ message: any SwiftProtobuf.Message, allHex: Bool = false) -> JSONValue {
        let name = type(of: message).protoMessageName
        var v = TreeVisitor(
            fields: cache.fields(name), styles: pretty ? (prettyStyles[name] ?? [:]) : [:],
            quoted: quotedPrintableFields[name] ?? [],
            allHex: pretty && allHex, emitter: self)
        try? message.traverse(visitor: &v)
        return .object(v.out)
    }
}

private struct TreeVisitor: SwiftProtobuf.Visitor {
    let fields: [Int: ProtoField]
    let styles: [String: PrettyStyle]
    let quoted: Set<String>
    let allHex: Bool
    let emitter: JSONEmitter
    var out: [(String, JSONValue)] = []

    private func name(_ n: Int) -> String { fields[n]?.name ?? String(n) }
    private func isHex(_ n: Int) -> Bool {
        if allHex { return true }
        if case .hex? = styles[name(n)] { return true }
        return false
    }

    private func int<T: BinaryInteger>(_ v: T, _ n: Int) -> JSONValue {
        if allHex { return .string("0x" + String(v, radix: 16)) }
        // Negative values never carry a style (crit would print them as Python ints).
        if let style = styles[name(n)], let u = UInt64(exactly: v) { return Pretty.show(u, style) }
        return .number(String(v))
    }

    private mutating func put(_ n: Int, _ v: JSONValue) { out.append((name(n), v)) }

    private func enumName<E: SwiftProtobuf.Enum>(_ v: E) -> JSONValue {
        var t = String(reflecting: E.self)
        if t.hasPrefix("Images.") { t = "criu." + t.dropFirst("Images.".count) }
        if let s = ProtoSchema.enums[t]?[v.rawValue] { return .string(s) }
        return .number(String(v.rawValue))
    }

    mutating func visitSingularDoubleField(value: Double, fieldNumber: Int) throws {
        put(fieldNumber, .number(String(value)))
    }
    mutating func visitSingularInt64Field(value: Int64, fieldNumber: Int) throws {
        put(fieldNumber, int(value, fieldNumber))
    }
    mutating func visitSingularUInt64Field(value: UInt64, fieldNumber: Int) throws {
        put(fieldNumber, int(value, fieldNumber))
    }
    mutating func visitSingularBoolField(value: Bool, fieldNumber: Int) throws {
        put(fieldNumber, .bool(value))
    }
    mutating func visitSingularStringField(value: String, fieldNumber: Int) throws {
        put(fieldNumber, .string(value))
    }
    mutating func visitSingularBytesField(value: Data, fieldNumber: Int) throws {
        if quoted.contains(name(fieldNumber)) {
            put(fieldNumber, .string(QuotedPrintable.encode([UInt8](value))))
        } else {
            put(fieldNumber, .string(JSONText.base64Lines([UInt8](value))))
        }
    }
    mutating func visitSingularEnumField<E: SwiftProtobuf.Enum>(value: E, fieldNumber: Int) throws {
        put(fieldNumber, enumName(value))
    }
    mutating func visitSingularMessageField<M: SwiftProtobuf.Message>(value: M, fieldNumber: Int) throws {
        put(fieldNumber, emitter.tree(value, allHex: isHex(fieldNumber)))
    }
    mutating func visitSingularGroupField<G: SwiftProtobuf.Message>(value: G, fieldNumber: Int) throws {
        put(fieldNumber, emitter.tree(value, allHex: isHex(fieldNumber)))
    }

    private mutating func ints<T: BinaryInteger>(_ v: [T], _ n: Int) {
        if !allHex, case .ip? = styles[name(n)], let addr = Pretty.address(v.map { UInt32(truncatingIfNeeded: $0) }) {
            put(n, addr)
            return
        }
        put(n, .array(v.map { int($0, n) }))
    }

    mutating func visitRepeatedInt32Field(value: [Int32], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitRepeatedInt64Field(value: [Int64], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitRepeatedUInt32Field(value: [UInt32], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitRepeatedUInt64Field(value: [UInt64], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitRepeatedSInt32Field(value: [Int32], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitRepeatedSInt64Field(value: [Int64], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitRepeatedFixed32Field(value: [UInt32], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitRepeatedFixed64Field(value: [UInt64], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitRepeatedSFixed32Field(value: [Int32], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitRepeatedSFixed64Field(value: [Int64], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitPackedInt32Field(value: [Int32], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitPackedInt64Field(value: [Int64], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitPackedUInt32Field(value: [UInt32], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitPackedUInt64Field(value: [UInt64], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitPackedSInt32Field(value: [Int32], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitPackedSInt64Field(value: [Int64], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitPackedFixed32Field(value: [UInt32], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitPackedFixed64Field(value: [UInt64], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitPackedSFixed32Field(value: [Int32], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitPackedSFixed64Field(value: [Int64], fieldNumber: Int) throws { ints(value, fieldNumber) }
    mutating func visitRepeatedFloatField(value: [Float], fieldNumber: Int) throws {
        put(fieldNumber, .array(value.map { .number(String($0)) }))
    }
    mutating func visitRepeatedDoubleField(value: [Double], fieldNumber: Int) throws {
        put(fieldNumber, .array(value.map { .number(String($0)) }))
    }
    mutating func visitPackedFloatField(value: [Float], fieldNumber: Int) throws {
        try visitRepeatedFloatField(value: value, fieldNumber: fieldNumber)
    }
    mutating func visitPackedDoubleField(value: [Double], fieldNumber: Int) throws {
        try visitRepeatedDoubleField(value: value, fieldNumber: fieldNumber)
    }
    mutating func visitRepeatedBoolField(value: [Bool], fieldNumber: Int) throws {
        put(fieldNumber, .array(value.map { .bool($0) }))
    }
    mutating func visitPackedBoolField(value: [Bool], fieldNumber: Int) throws {
        try visitRepeatedBoolField(value: value, fieldNumber: fieldNumber)
    }
    mutating func visitRepeatedStringField(value: [String], fieldNumber: Int) throws {
        put(fieldNumber, .array(value.map { .string($0) }))
    }
    mutating func visitRepeatedBytesField(value: [Data], fieldNumber: Int) throws {
        put(fieldNumber, .array(value.map { .string(JSONText.base64Lines([UInt8]($0))) }))
    }
    mutating func visitRepeatedEnumField<E: SwiftProtobuf.Enum>(value: [E], fieldNumber: Int) throws {
        put(fieldNumber, .array(value.map { enumName($0) }))
    }
    mutating func visitPackedEnumField<E: SwiftProtobuf.Enum>(value: [E], fieldNumber: Int) throws {
        try visitRepeatedEnumField(value: value, fieldNumber: fieldNumber)
    }
    mutating func visitRepeatedMessageField<M: SwiftProtobuf.Message>(value: [M], fieldNumber: Int) throws {
        let h = isHex(fieldNumber)
        put(fieldNumber, .array(value.map { emitter.tree($0, allHex: h) }))
    }
    mutating func visitRepeatedGroupField<G: SwiftProtobuf.Message>(value: [G], fieldNumber: Int) throws {
        let h = isHex(fieldNumber)
        put(fieldNumber, .array(value.map { emitter.tree($0, allHex: h) }))
    }
    mutating func visitMapField<K, V>(
        fieldType: _ProtobufMap<K, V>.Type, value: _ProtobufMap<K, V>.BaseType, fieldNumber: Int
    ) throws {}
    mutating func visitMapField<K, V>(
        fieldType: _ProtobufEnumMap<K, V>.Type, value: _ProtobufEnumMap<K, V>.BaseType, fieldNumber: Int
    ) throws where V.RawValue == Int {}
    mutating func visitMapField<K, V>(
        fieldType: _ProtobufMessageMap<K, V>.Type, value: _ProtobufMessageMap<K, V>.BaseType, fieldNumber: Int
    ) throws {}
    // Unknown fields (other architectures' registers, newer fields) are not printed, as in CRIU's crit.
    mutating func visitUnknown(bytes: Data) throws {}
}

extension JSONValue {
    /// Text as Python's json.dump(indent=4) lays it out, starting at `level`.
    func pretty(level: Int = 0) -> String {
        var s = ""
        writePretty(to: &s, level: level)
        return s
    }

    func writePretty(to s: inout String, level: Int) {
        let pad = String(repeating: " ", count: 4 * (level + 1))
        let close = String(repeating: " ", count: 4 * level)
        switch self {
        case .array(let a) where !a.isEmpty:
            s += "[\n"
            for (i, v) in a.enumerated() {
                s += pad
                v.writePretty(to: &s, level: level + 1)
                s += i == a.count - 1 ? "\n" : ",\n"
            }
            s += close + "]"
        case .object(let kv) where !kv.isEmpty:
            s += "{\n"
            for (i, (k, v)) in kv.enumerated() {
                s += pad
                JSONText.quote(k, into: &s)
                s += ": "
                v.writePretty(to: &s, level: level + 1)
                s += i == kv.count - 1 ? "\n" : ",\n"
            }
            s += close + "}"
        default:
            write(to: &s)
        }
    }
}
