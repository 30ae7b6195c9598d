public enum LLMPlaceholder {}
