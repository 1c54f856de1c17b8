import ArgumentParser

@main
struct Criu: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "criu",
        abstract: "Checkpoint/restore in userspace",
        subcommands: []
    )
}
