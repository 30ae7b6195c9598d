/// One turn of a conversation, as a chat template sees it (`message['role']`, `message['content']`).
public struct ChatMessage: Sendable, Equatable {
    /// Who speaks: usually `system`, `user` or `assistant`; templates may accept others (`tool`, …).
    public var role: String
    /// The text of the turn.
    public var content: String

    /// Makes a message from its role and text.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    /// The message as a template value: an object with the keys `role` and `content`, in that order.
    public var jinjaValue: JinjaValue {
        .object(JinjaObject([("role", .string(role)), ("content", .string(content))]))
    }
}
