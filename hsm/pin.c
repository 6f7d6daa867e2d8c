/* placeholder: being written */
typedef int ik_placeholder_hsm_pin_c;
