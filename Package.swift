// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "criu-swift",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "criu", targets: ["criu"]),
        .library(name: "Compel", targets: ["Compel"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "Images", targets: ["Images"]),
        .executable(name: "crit", targets: ["crit"]),
        .executable(name: "zdtm", targets: ["zdtm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        // 1.16: LogHandler.log(event:), which our handler implements.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        // No default traits: BinaryDelimitedStreams imports all of Foundation (streams), which put
        // libFoundation, FoundationInternationalization and ICU into criu's start-up (~10 ms per run). We use
        // neither it nor FieldMaskUtilities; SwiftProtobuf itself needs only FoundationEssentials.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0", traits: []),
    ],
    targets: [
        .target(name: "CSys"),
        .target(
            name: "Compel",
            dependencies: ["CSys", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "Engine",
            dependencies: [
                "CSys", "Compel", "Images",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "criu",
            dependencies: [
                "Compel", "CSys", "Engine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            // Fully static: no ld.so, no shared-library search or symbol binding at start-up, about 5 ms of
            // every run (docs/benchmarks.md, "Start-up"). criu uses no NSS lookups or dlopen.
            linkerSettings: [.unsafeFlags(["-static-executable"], .when(configuration: .release))]
        ),
        .target(
            name: "Images",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Fuzz entry point for the reader; scripts/fuzz-images.sh links it with libFuzzer.
        .target(name: "ImagesFuzz", dependencies: ["Images"]),
        .executableTarget(
            name: "crit",
            dependencies: [
                "Images",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "ImagesTests",
            dependencies: [
                "Images", "ImagesFuzz", "crit",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Tests/Unit/Images"
        ),
        .executableTarget(name: "compel-bench", dependencies: ["Compel", "CSys"]),
        .executableTarget(name: "vfork-probe", dependencies: ["Engine"]),
        .testTarget(name: "CompelTests", dependencies: ["Compel", "CSys"], path: "Tests/Unit/Compel", exclude: ["victims"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "CSys", "Compel"], path: "Tests/Unit/Engine"),
        .testTarget(name: "CLITests", dependencies: ["criu"], path: "Tests/Unit/CLI"),
        .target(name: "CZdtm"),
        .target(name: "ZdtmCore", dependencies: ["CZdtm"]),
        .executableTarget(
            name: "zdtm",
            dependencies: ["ZdtmCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "ZdtmTests", dependencies: ["ZdtmCore"], path: "Tests/Unit/Zdtm"),
    ]
)
