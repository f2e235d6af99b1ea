import GRPCCore
import QuiverAuth
import QuiverProto

/// The role each method requires when API keys are on. `nil`: no key needed (health only).
/// Methods missing from the table need `admin`, so a new method is closed until it is listed.
enum MethodAccess {
    static let required: [MethodDescriptor: Role?] = [
        Quiver_V1_AdminService.Method.Health.descriptor: nil,
        Quiver_V1_AdminService.Method.Stats.descriptor: .read,
        Quiver_V1_AdminService.Method.Version.descriptor: .read,
        Quiver_V1_CollectionService.Method.ListCollections.descriptor: .read,
        Quiver_V1_CollectionService.Method.DescribeCollection.descriptor: .read,
        Quiver_V1_CollectionService.Method.CreateCollection.descriptor: .admin,
        Quiver_V1_CollectionService.Method.DropCollection.descriptor: .admin,
        Quiver_V1_DataService.Method.Upsert.descriptor: .write,
        Quiver_V1_DataService.Method.UpsertStream.descriptor: .write,
        Quiver_V1_DataService.Method.Delete.descriptor: .write,
        Quiver_V1_DataService.Method.Get.descriptor: .read,
        Quiver_V1_DataService.Method.Query.descriptor: .read,
        Quiver_V1_DataService.Method.Count.descriptor: .read,
        Quiver_V1_SearchService.Method.Search.descriptor: .read,
        Quiver_V1_SearchService.Method.SearchStream.descriptor: .read,
        Quiver_V1_AdminService.Method.ListSegments.descriptor: .admin,
        Quiver_V1_AdminService.Method.ShowSegment.descriptor: .admin,
        Quiver_V1_AdminService.Method.SealSegments.descriptor: .admin,
        Quiver_V1_AdminService.Method.CompactSegments.descriptor: .admin,
        Quiver_V1_AdminService.Method.RebuildSegment.descriptor: .admin,
        Quiver_V1_AdminService.Method.Backup.descriptor: .admin,
        Quiver_V1_AdminService.Method.ReloadCredentials.descriptor: .admin,
    ]

    static func role(for method: MethodDescriptor) -> Role? {
        if let entry = required[method] { return entry }
        return .admin
    }
}
