// A service whose methods return every kind of value: the scaffold's stub
// handlers must return results the scaffold's own client accepts.
namespace go store

include "types.thrift"

enum Color {
    RED = 1
    BLUE = 2
}

exception NotFound {
    1: string key
}

service Base {
    string Ping()
}

service Store extends Base {
    list<types.Item> List(1: types.Query q)
    map<string, i64> Counts(1: list<string> keys)
    set<string> Tags()
    binary Blob(1: string key)
    types.Item Get(1: string key) throws (1: NotFound nf)
    i32 Size()
    double Ratio()
    bool Empty()
    Color Favorite()
    void Put(1: types.Item item)
    oneway void Touch(1: string key)
}
