// bench.thrift is the realistic nested struct of the codec benchmark:
// strings, numbers, lists, maps, a set, binary and nested structs.
namespace go codecbench

struct Address {
  1: string street
  2: string city
  3: string zip
  4: optional string country
}

struct Item {
  1: i64 id
  2: string name
  3: double price
  4: i32 quantity
  5: list<string> tags
  6: map<string, string> attrs
}

struct Order {
  1: i64 id
  2: string customer
  3: list<Item> items
  4: map<string, i64> counters
  5: Address ship_to
  6: optional string note
  7: binary payload
  8: set<i32> flags
  9: bool paid
  10: list<Address> history
}
