import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import { NotCardNumber } from '../../beneficiaries/beneficiary-number.validators';

/** A card, by token: the rail Verestro pays to. */
export class CardBeneficiaryDto {
  @ApiProperty({ enum: ['card'] })
  @IsIn(['card'])
  type!: 'card';

  @ApiProperty({ example: 'tok_visa_4242', description: 'Card token or reference (never a PAN).' })
  @Matches(/^[A-Za-z0-9_-]{4,100}$/, { message: 'must be a card token of 4-100 letters, digits, _ or -' })
  // A card number here would put this service, its database and its logs in PCI DSS scope.
  @NotCardNumber({ message: 'looks like a card number (PAN); send the token Verestro issued for the card instead' })
  cardToken!: string;

  @ApiPropertyOptional({ example: 'Jan Kowalski' })
  @IsOptional()
  @IsString()
  @Length(1, 140)
  name?: string;
}
