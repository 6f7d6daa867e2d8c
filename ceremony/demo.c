/* placeholder: being written */
typedef int ik_placeholder_ceremony_demo_c;
