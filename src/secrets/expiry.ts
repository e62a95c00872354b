import { addMonths } from 'date-fns/addMonths';

/** How long a Secret Code lives: six months from the moment it was generated (the reference procedure). */
export const SECRET_CODE_LIFETIME_MONTHS = 6;

/**
 * Six months after `createdAt`, in the local calendar (what the admin sees): month ends clamp, so
 * Aug 31 + 6 months is the last day of February, and the wall-clock time survives a DST change.
 */
export function secretCodeExpiry(createdAt: Date): Date {
  return addMonths(createdAt, SECRET_CODE_LIFETIME_MONTHS);
}
