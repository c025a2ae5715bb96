namespace go store.types

struct Item {
    1: required string key
    2: optional list<string> labels
    3: map<string, string> attrs
}

struct Query {
    1: optional string prefix
    2: i32 limit
}
