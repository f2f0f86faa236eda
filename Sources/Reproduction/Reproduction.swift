/// The paper-reproduction experiments (placeholder).
public enum Reproduction {}
