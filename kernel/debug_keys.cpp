#include "kernel/debug_keys.hpp"
#include "kernel/console.hpp"

namespace menhir::debug_keys {
namespace {

struct Key { char key; const char* description; Handler handler; };
constexpr int max_keys = 48;
Key keys[max_keys];
int key_count = 0;

void show_help(char)
{
    info("'h' pressed -> showing installed handlers");
    for (int i = 0; i < key_count; ++i)
        info(" key '%c' (ascii '%02x') => %s", keys[i].key, static_cast<unsigned char>(keys[i].key),
             keys[i].description);
}

struct HelpRegistrar {
    HelpRegistrar() { register_key('h', "show this message", show_help); }
} help_registrar;

} // namespace

void register_key(char key, const char* description, Handler handler)
{
    for (int i = 0; i < key_count; ++i) {
        if (keys[i].key == key) {
            keys[i] = Key{key, description, handler};
            return;
        }
    }
    if (key_count < max_keys) keys[key_count++] = Key{key, description, handler};
}

void handle(char key)
{
    for (int i = 0; i < key_count; ++i) {
        if (keys[i].key == key) {
            keys[i].handler(key);
            return;
        }
    }
    if (key >= 0x20 && key < 0x7f) info("no handler for key '%c' (press 'h' for the list)", key);
}

} // namespace menhir::debug_keys
