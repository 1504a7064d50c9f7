// See domain_lookup.hpp.
#include "domain_lookup.hpp"
#include "list_format.hpp"

namespace dom0::xl {

long find_domain(const char* arg, const menhir::abi::DomainInfo* doms, size_t count)
{
    bool digits = *arg != '\0';
    unsigned long id = 0;
    for (const char* p = arg; *p != '\0' && digits; ++p) {
        if (*p < '0' || *p > '9' || id > 0xffff) digits = false;
        else id = id * 10 + static_cast<unsigned long>(*p - '0');
    }
    for (size_t i = 0; i < count; ++i) {
        char name[33];
        name_of(doms[i], name);
        const bool by_id = digits && doms[i].domain == id;
        bool by_name = true;
        size_t k = 0;
        for (; name[k] != '\0' && arg[k] == name[k]; ++k) {}
        by_name = !digits && name[k] == '\0' && arg[k] == '\0';
        if (by_id || by_name) return static_cast<long>(i);
    }
    return -1;
}

} // namespace dom0::xl
