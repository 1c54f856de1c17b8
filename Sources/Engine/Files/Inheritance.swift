/// The one rule both dump and restore apply to shared open file descriptions: a task gets a description
/// by fork only from its parent, so a task that holds one after its first holder (in tree order, parents
/// first) while its parent does not hold it needs it from elsewhere. The dump refuses such a task for kinds
/// the restorer cannot open itself (SiblingShares); the restore opens the others before forking the tree
/// (SharedDescriptions).
enum Inheritance {
    /// Calls `found(task, id, firstHolder)` for every id `task` cannot inherit.
    static func notInherited<Task>(_ tasks: [Task], held: (Task) -> [UInt32], parentHolds: (Task, UInt32) -> Bool,
                                   _ found: (Task, UInt32, Task) throws -> Void) rethrows {
        var firstHolder: [UInt32: Task] = [:]
        for task in tasks {
            for id in held(task) {
                guard let first = firstHolder[id] else { firstHolder[id] = task; continue }
                if !parentHolds(task, id) { try found(task, id, first) }
            }
        }
    }
}
