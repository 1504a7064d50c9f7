// See vcpu_format.hpp. Column widths are xl's (tools/xl/xl_vcpu.c).
#include "vcpu_format.hpp"
#include "cpu_list.hpp"

namespace dom0::xl {

void vcpu_list_header(Text& t)
{
    t.left("Name", 32).put(' ').right("ID", 5).put(' ').right("VCPU", 5).put(' ').right("CPU", 5).put(' ');
    t.right("State", 5).put(' ').right("Time(s)", 9).str(" Affinity (Hard / Soft)\n");
}

void vcpu_list_row(Text& t, const char* name, uint16_t domid, const menhir::abi::DomctlVcpuInfo& v, uint32_t nr_cpus)
{
    t.left(name, 32).put(' ').num(domid, 5).put(' ').num(v.vcpu, 5);
    if (!v.online) {
        t.right("-", 5).str("   --p ");
    } else {
        t.num(v.cpu, 5).str("   ").put(v.running ? 'r' : '-').put(v.blocked ? 'b' : '-').str("- ");
    }
    t.seconds1(v.cpu_time_ns, 9).str("  ");
    char mask[200];
    format_cpu_list(v.hard_affinity, nr_cpus, mask, sizeof mask);
    t.str(mask).str(" / ");
    format_cpu_list(v.soft_affinity, nr_cpus, mask, sizeof mask);
    t.str(mask).put('\n');
}

} // namespace dom0::xl
