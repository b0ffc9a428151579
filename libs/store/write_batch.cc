#include <utility>

#include "libs/store/store.h"

namespace ar::store {

// Inside WriteBatch the member functions hide the op structs of the same name, hence the
// elaborated `struct X` spelling.
void WriteBatch::Set(std::string key, std::string value) {
  ops_.emplace_back(std::in_place_type<struct Set>, std::move(key), std::move(value));
}

void WriteBatch::Del(std::string key) {
  ops_.emplace_back(std::in_place_type<struct Del>, std::move(key));
}

void WriteBatch::HSet(std::string key, std::string field, std::string value) {
  ops_.emplace_back(std::in_place_type<struct HSet>, std::move(key), std::move(field),
                    std::move(value));
}

void WriteBatch::HDel(std::string key, std::string field) {
  ops_.emplace_back(std::in_place_type<struct HDel>, std::move(key), std::move(field));
}

void WriteBatch::HIncrBy(std::string key, std::string field, int64_t delta) {
  ops_.emplace_back(std::in_place_type<struct HIncrBy>, std::move(key), std::move(field), delta);
}

void WriteBatch::ZAdd(std::string key, std::string member, int64_t score) {
  ops_.emplace_back(std::in_place_type<struct ZAdd>, std::move(key), std::move(member), score);
}

void WriteBatch::ZRem(std::string key, std::string member) {
  ops_.emplace_back(std::in_place_type<struct ZRem>, std::move(key), std::move(member));
}

}  // namespace ar::store
