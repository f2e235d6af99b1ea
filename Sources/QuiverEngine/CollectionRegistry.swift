import QuiverCore
import Synchronization

/// The live collections by name. Read by every call; replaced only by the commit thread after a
/// create or drop is durable.
final class CollectionRegistry: Sendable {
    private struct State {
        var collections: [String: CollectionState]
        var nextCollectionID: CollectionID
    }

    private let state: Mutex<State>

    init(collections: [String: CollectionState], nextCollectionID: CollectionID) {
        state = Mutex(State(collections: collections, nextCollectionID: nextCollectionID))
    }

    func lookup(_ name: String) -> CollectionState? { state.withLock { $0.collections[name] } }

    /// The collection, or `notFound`.
    func require(_ name: String) throws(QuiverError) -> CollectionState {
        guard let collection = lookup(name) else { throw .collectionNotFound(name) }
        return collection
    }

    /// Every collection, sorted by name.
    func all() -> [CollectionState] {
        state.withLock { $0.collections.values.sorted { $0.name < $1.name } }
    }

    func current() -> (collections: [String: CollectionState], nextCollectionID: CollectionID) {
        state.withLock { ($0.collections, $0.nextCollectionID) }
    }

    /// Commit thread only.
    func replace(collections: [String: CollectionState], nextCollectionID: CollectionID) {
        state.withLock {
            $0.collections = collections
            $0.nextCollectionID = nextCollectionID
        }
    }

    /// Empties the registry on close, releasing every collection's memory and storage snapshot.
    func removeAll() {
        state.withLock { $0.collections = [:] }
    }
}
